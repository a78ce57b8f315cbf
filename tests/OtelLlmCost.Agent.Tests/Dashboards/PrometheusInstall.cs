using System.Diagnostics;

namespace OtelLlmCost.Agent.Tests.Dashboards;

/// <summary>
/// Finds Debian's <c>prometheus</c> and <c>promtool</c>: on the PATH, in the cache (<c>~/.cache/otel-llm-cost/prometheus</c>),
/// or by downloading the Debian package with <c>apt-get download</c> and unpacking it with <c>dpkg-deb -x</c> into the
/// cache. That needs neither root nor a service start (the package's binaries are static Go programs); only when
/// apt's package lists are missing and the test runs as root does it run <c>apt-get update</c> first. Measured here:
/// download and unpack about 2 s, <c>apt-get update</c> about 6 s.
/// </summary>
internal static class PrometheusInstall
{
    public static string CacheDirectory => Path.Combine(
        Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } cache ? cache : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
        "otel-llm-cost", "prometheus");

    /// <summary>The directory holding prometheus and promtool, or null with the reason they could not be had.</summary>
    public static (string? Directory, string Problem) Locate()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (null, "the Prometheus proof test installs Debian's package and runs on Linux only");
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append(Path.Combine(CacheDirectory, "usr", "bin")))
        {
            if (File.Exists(Path.Combine(directory, "prometheus")) && File.Exists(Path.Combine(directory, "promtool")))
            {
                return (directory, string.Empty);
            }
        }

        if (Which("apt-get") is null || Which("dpkg-deb") is null)
        {
            return (null, "prometheus is not installed and apt-get/dpkg-deb are unavailable to fetch Debian's package");
        }

        Directory.CreateDirectory(CacheDirectory);
        var (code, output) = Run("apt-get", "download prometheus", CacheDirectory, TimeSpan.FromMinutes(2));
        if (code != 0 && Environment.UserName == "root")
        {
            Run("apt-get", "update", CacheDirectory, TimeSpan.FromMinutes(2));
            (code, output) = Run("apt-get", "download prometheus", CacheDirectory, TimeSpan.FromMinutes(2));
        }

        var package = Directory.GetFiles(CacheDirectory, "prometheus_*.deb").OrderDescending(StringComparer.Ordinal).FirstOrDefault();
        if (code != 0 || package is null)
        {
            return (null, $"apt-get download prometheus failed ({code}): {output.Trim()}");
        }

        (code, output) = Run("dpkg-deb", $"-x \"{package}\" \"{CacheDirectory}\"", CacheDirectory, TimeSpan.FromMinutes(1));
        var bin = Path.Combine(CacheDirectory, "usr", "bin");
        return code == 0 && File.Exists(Path.Combine(bin, "prometheus"))
            ? (bin, string.Empty)
            : (null, $"dpkg-deb -x {package} failed ({code}): {output.Trim()}");
    }

    public static (int ExitCode, string Output) Run(string file, string arguments, string workingDirectory, TimeSpan timeout)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} {arguments} timed out after {timeout}");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}

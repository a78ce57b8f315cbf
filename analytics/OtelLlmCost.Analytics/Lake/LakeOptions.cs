using System.Security.Cryptography;
using System.Text;

namespace OtelLlmCost.Analytics.Lake;

/// <summary>
/// The <c>Lake</c> section: the Hive-partitioned Parquet export of the ledger that dashboards and other tools read in
/// place (<c>&lt;Path&gt;/calls/date=YYYY-MM-DD/hour=HH/&lt;AgentId&gt;-&lt;n&gt;.parquet</c>, and the hour rollups beside it).
/// </summary>
public sealed class LakeOptions
{
    public const string SectionName = "Lake";

    public const string DefaultPath = "lake";

    public bool Enabled { get; set; } = true;

    /// <summary>The lake's root; a relative path is inside the data directory. Several agents may share one root.</summary>
    public string Path { get; set; } = DefaultPath;

    /// <summary>
    /// Starts every file name this agent writes, so agents sharing a root never write the same name. Letters, digits,
    /// '-' and '_'. Default: the host name and a hash of the data directory's full path.
    /// </summary>
    public string? AgentId { get; set; }

    /// <summary>How often the agent looks for closed hours and late calls to export.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>An hour is written this long after it ends, so calls still in flight at its end are in its first file.</summary>
    public TimeSpan CloseDelay { get; set; } = TimeSpan.FromMinutes(5);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path))
        {
            throw new ArgumentException("Lake:Path must not be empty.");
        }

        if (AgentId is not null && !IsValidAgentId(AgentId))
        {
            throw new ArgumentException($"Lake:AgentId must be 1 to 64 letters, digits, '-' or '_'; not '{AgentId}'.");
        }

        if (Interval < TimeSpan.FromSeconds(1) || CloseDelay < TimeSpan.Zero || CloseDelay > TimeSpan.FromDays(1))
        {
            throw new ArgumentException("Lake:Interval must be at least one second and Lake:CloseDelay between 0 and one day.");
        }
    }

    public string FullPath(string dataDirectory) => System.IO.Path.GetFullPath(System.IO.Path.Combine(dataDirectory, Path));

    /// <summary>The configured id, else one derived from the host name and the data directory (stable across restarts).</summary>
    public string ResolveAgentId(string dataDirectory)
    {
        if (AgentId is { } configured)
        {
            return configured;
        }

        var host = new string([.. Environment.MachineName.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-')]);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(dataDirectory))));
        var id = $"{(host.Length > 40 ? host[..40] : host)}-{Convert.ToHexStringLower(hash)[..8]}";
        return IsValidAgentId(id) ? id : "agent-" + Convert.ToHexStringLower(hash)[..8];
    }

    private static bool IsValidAgentId(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}

using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>
/// The ad-hoc query worker (<c>otel-llm-cost adhoc-worker</c>) reads its request from stdin. Whatever arrives there, it
/// answers with a status line and a JSON error (never an unanswered crash, which the agent could only report as "the
/// worker ended"), and a valid request beside the bad ones is still answered.
/// </summary>
[TestClass]
public sealed class AdHocWorkerInputTests
{
    private const string Budget = "\"memory_bytes\":268435456";

    [TestMethod]
    [DataRow("SELECT 42", DisplayName = "not JSON")]
    [DataRow("[1,2]", DisplayName = "not an object")]
    [DataRow("{\"sql\":\"SELECT 42\",\"memory_bytes\":-5}", DisplayName = "a negative memory budget")]
    [DataRow("{\"sql\":\"SELECT 42\",\"memory_bytes\":4096}", DisplayName = "a budget the runtime cannot live within")]
    [DataRow("{\"sql\":\"SELECT 42\",\"timeout_ms\":-1," + Budget + "}", DisplayName = "a negative timeout")]
    [DataRow("{\"sql\":\"SELECT 42\"," + Budget + ",\"lake\":\"/nonexistent\",\"tables\":[{\"name\":\"x; DROP\",\"columns\":[]}]}",
        DisplayName = "a lake table that does not exist")]
    public async Task BadRequest_IsAnswered400WithAMessage(string request)
    {
        var (exit, status, body, error) = await RunWorkerAsync(request);

        status.ShouldBe("400", $"exit {exit}, stderr: {error}");
        using var json = JsonDocument.Parse(body);
        json.RootElement.GetProperty("code").GetString().ShouldBe("invalid_request", body);
        json.RootElement.GetProperty("error").GetString().ShouldNotBeNullOrWhiteSpace();
        error.ShouldBeEmpty();
    }

    [TestMethod]
    public async Task OversizedRequest_IsAnswered400()
    {
        var request = "{\"sql\":\"SELECT '" + new string('x', 5 * 1024 * 1024) + "'\"," + Budget + "}";

        var (_, status, body, error) = await RunWorkerAsync(request);

        status.ShouldBe("400", error);
        body.ShouldContain("invalid_request");
    }

    [TestMethod]
    public async Task ValidRequest_IsAnswered200WithItsRows()
    {
        var (exit, status, body, error) = await RunWorkerAsync("{\"sql\":\"SELECT 6 * 7 AS answer\"," + Budget + "}");

        (exit, status).ShouldBe((0, "200"), error);
        using var json = JsonDocument.Parse(body);
        json.RootElement.GetProperty("rows")[0][0].GetInt32().ShouldBe(42);
    }

    private static async Task<(int Exit, string Status, string Body, string Error)> RunWorkerAsync(string request)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { RepositoryPaths.AgentAssembly, "adhoc-worker" },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(request), timeout.Token);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The worker stops reading at its request limit and answers; what it did not read is not the test's concern.
        }

        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        var text = await output;
        var lineEnd = text.IndexOf('\n', StringComparison.Ordinal);
        return lineEnd < 0
            ? (process.ExitCode, text, "", await error)
            : (process.ExitCode, text[..lineEnd], text[(lineEnd + 1)..], await error);
    }
}

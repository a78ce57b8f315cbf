using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Tests.Cli;

[TestClass]
public sealed class ServeCommandTests
{
    [TestMethod]
    public async Task AgentHost_OnFreePort_ServesHealthAndWritesAddressFile()
    {
        using var directory = new TemporaryDirectory();
        await using (var host = AgentHost.Create(new AgentOptions
        {
            DataDirectory = directory.Path,
            ApiEndpoint = "127.0.0.1:0",
            Otlp = new OtlpReceiverOptions { GrpcEndpoint = "127.0.0.1:0", HttpEndpoint = "127.0.0.1:0" },
        }))
        {
            await host.StartAsync();
            host.ApiAddress!.Host.ShouldBe("127.0.0.1");
            host.ApiAddress.Port.ShouldBeGreaterThan(0);
            using var client = new HttpClient { BaseAddress = host.ApiAddress };
            (await client.GetStringAsync("/healthz")).ShouldBe("ok");
            var ready = await client.GetFromJsonAsync<JsonElement>("/readyz");
            ready.GetProperty("schemaVersion").GetInt32().ShouldBe(LedgerStore.SchemaVersion);

            var addressFile = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(directory.Path, AgentHost.AddressFileName)));
            addressFile.RootElement.GetProperty("api").GetString().ShouldBe(host.ApiAddress.ToString());
            addressFile.RootElement.GetProperty("process_id").GetInt32().ShouldBe(Environment.ProcessId);
        }

        File.Exists(Path.Combine(directory.Path, AgentHost.AddressFileName)).ShouldBeFalse();
        using var reopened = LedgerStore.Open(directory.Path);
        reopened.AppliedMigrations.ShouldBeEmpty();
    }

    [TestMethod]
    [DataRow("localhost:99999")]
    [DataRow("4320")]
    [DataRow("example.com:4320")]
    public void AgentOptions_BadApiAddress_IsRefusedWithTheExpectedForm(string address)
    {
        Should.Throw<FormatException>(() => new AgentOptions { ApiEndpoint = address }.Validate()).Message.ShouldContain("HOST:PORT");
    }

    [TestMethod]
    public async Task ServeProcess_OnSigterm_StopsCleanlyAndReleasesTheLedger()
    {
        using var directory = new TemporaryDirectory();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { RepositoryPaths.AgentAssembly, "serve", "--data-dir", directory.Path, "--api", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var addressFile = Path.Combine(directory.Path, AgentHost.AddressFileName);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!File.Exists(addressFile) && DateTime.UtcNow < deadline && !process.HasExited)
        {
            await Task.Delay(100);
        }

        File.Exists(addressFile).ShouldBeTrue("the agent should write its addresses after it starts");
        var api = JsonDocument.Parse(await File.ReadAllTextAsync(addressFile)).RootElement.GetProperty("api").GetString()!;
        using (var client = new HttpClient())
        {
            (await client.GetStringAsync(new Uri(new Uri(api), "/healthz"))).ShouldBe("ok");
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        process.ExitCode.ShouldBe(0);
        var log = await process.StandardOutput.ReadToEndAsync();
        log.ShouldContain("API listening on");
        using var store = LedgerStore.Open(directory.Path);
        store.AppliedMigrations.ShouldBeEmpty();
    }
}

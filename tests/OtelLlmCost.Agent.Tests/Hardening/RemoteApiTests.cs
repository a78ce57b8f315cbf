using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Configuration;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Tests.Cli;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>
/// Issue 14, item 12: the API (ad-hoc SQL, budget changes) is never served beyond loopback without a token unless
/// the operator says so, and <c>/metrics</c> can require the token. No test binds a non-loopback address: the
/// refusal happens at validation, before any listener exists.
/// </summary>
[TestClass]
public sealed class RemoteApiTests
{
    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Serve_OnAllInterfacesWithoutAdminToken_ExitsWithOneLineSayingWhy()
    {
        using var directory = new TemporaryDirectory();

        var (exit, _, error) = await CliRunner.RunAsync(
            "serve", "--data-dir", directory.Path, "--api", "0.0.0.0:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0");

        exit.ShouldBe(1);
        var line = error.Trim();
        line.ShouldNotContain('\n');
        line.ShouldStartWith("error: Refusing to serve the API on 0.0.0.0:0 without Agent:AdminToken");
        line.ShouldContain("Agent:AllowUnauthenticatedRemoteApi=true");
        Directory.EnumerateFiles(directory.Path).ShouldBeEmpty();
    }

    [TestMethod]
    [DataRow("0.0.0.0:4320", null, false, false)]
    [DataRow("*:4320", null, false, false)]
    [DataRow("[::]:4320", null, false, false)]
    [DataRow("192.168.1.10:4320", null, false, false)]
    [DataRow("0.0.0.0:4320", "s3cret", false, true)]
    [DataRow("0.0.0.0:4320", null, true, true)]
    [DataRow("127.0.0.1:4320", null, false, true)]
    [DataRow("localhost:4320", null, false, true)]
    [DataRow("[::1]:4320", null, false, true)]
    public void Validate_ApiBeyondLoopback_NeedsATokenOrAnExplicitAllowance(string endpoint, string? token, bool allow, bool valid)
    {
        var options = new AgentOptions { ApiEndpoint = endpoint, AdminToken = token, AllowUnauthenticatedRemoteApi = allow };

        if (valid)
        {
            Should.NotThrow(options.Validate);
        }
        else
        {
            Should.Throw<InvalidOperationException>(options.Validate).Message.ShouldContain("AdminToken");
        }
    }

    [TestMethod]
    public void Configuration_AllowUnauthenticatedRemoteApi_IsRead()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Agent:AllowUnauthenticatedRemoteApi"] = "true",
            ["Metrics:RequireAdminToken"] = "true",
        }).Build();

        var options = AgentConfiguration.Read(configuration);

        options.AllowUnauthenticatedRemoteApi.ShouldBeTrue();
        options.Metrics.RequireAdminToken.ShouldBeTrue();
    }

    [TestMethod]
    [DataRow(false, null, HttpStatusCode.OK)]
    [DataRow(true, null, HttpStatusCode.Unauthorized)]
    [DataRow(true, "wrong", HttpStatusCode.Unauthorized)]
    [DataRow(true, "s3cret", HttpStatusCode.OK)]
    public async Task Metrics_WithRequireAdminToken_NeedsTheToken(bool requireToken, string? sent, HttpStatusCode expected)
    {
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            options.AdminToken = "s3cret";
            options.Metrics.RequireAdminToken = requireToken;
        });
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        if (sent is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", sent);
        }

        using var response = await client.GetAsync("/metrics");

        response.StatusCode.ShouldBe(expected);
        (await client.GetStringAsync("/healthz")).ShouldBe("ok");
    }

    [TestMethod]
    public void Validate_RequireAdminTokenWithoutAToken_IsRefused()
    {
        var options = new AgentOptions();
        options.Metrics.RequireAdminToken = true;

        Should.Throw<InvalidOperationException>(options.Validate).Message.ShouldContain("Metrics:RequireAdminToken");
    }
}

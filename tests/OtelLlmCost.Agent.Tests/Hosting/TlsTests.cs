using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Hosting;

/// <summary>
/// Tls:CertificatePath puts the OTLP listeners and the API on https: the real OTel .NET exporter, trusting only a
/// self-signed certificate made here, exports over gRPC (ALPN h2) and HTTP, and the call is stored.
/// </summary>
[TestClass]
public sealed class TlsTests
{
    [TestMethod]
    [DataRow(OtlpExportProtocol.Grpc, false)]
    [DataRow(OtlpExportProtocol.HttpProtobuf, true)]
    public async Task Export_OverTlsWithASelfSignedCertificate_IsStoredAndTheApiServesHttps(OtlpExportProtocol protocol, bool pem)
    {
        using var files = new TemporaryDirectory();
        using var certificate = SelfSigned();
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            if (pem)
            {
                options.Tls.CertificatePath = Write(files.Path, "agent.crt", certificate.ExportCertificatePem());
                options.Tls.KeyPath = Write(files.Path, "agent.key", certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
            }
            else
            {
                options.Tls.CertificatePath = Path.Combine(files.Path, "agent.pfx");
                options.Tls.CertificatePassword = "s3cret";
                File.WriteAllBytes(options.Tls.CertificatePath, certificate.Export(X509ContentType.Pkcs12, "s3cret"));
            }
        });
        agent.Host.GrpcAddress.Scheme.ShouldBe("https");
        agent.Host.HttpAddress.Scheme.ShouldBe("https");
        agent.Host.ApiAddress!.Scheme.ShouldBe("https");
        var sourceName = "tls.test." + protocol;
        using var source = new ActivitySource(sourceName);
        using var provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(sourceName)
            .AddOtlpExporter(exporter =>
            {
                exporter.Protocol = protocol;
                exporter.Endpoint = protocol == OtlpExportProtocol.Grpc ? agent.Host.GrpcAddress : new Uri(agent.Host.HttpAddress, OtlpHttpReceiver.TracesPath);
                exporter.HttpClientFactory = () => TrustingOnly(certificate);
            })
            .Build();

        using (var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client)!)
        {
            chat.SetTag("gen_ai.operation.name", "chat");
            chat.SetTag("gen_ai.request.model", "gpt-4o");
            chat.SetTag("gen_ai.usage.input_tokens", 1000L);
            chat.SetTag("gen_ai.usage.output_tokens", 100L);
        }

        provider.ForceFlush(10_000).ShouldBeTrue();
        (await agent.WaitForAsync("SELECT count(*) FROM llm_calls", 1L)).ShouldBe(1L);
        using var api = TrustingOnly(certificate);
        (await api.GetAsync(new Uri(agent.Host.ApiAddress, "/healthz"))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    /// <summary>
    /// The CLI finds the agent's https API in agent.json and sends `query` and a relayed command to it, trusting the self-signed
    /// certificate through SSL_CERT_FILE (OpenSSL's trust setting, which .NET honours on Linux); without it the
    /// certificate is refused and the CLI exits non-zero with one line saying so (not
    /// the ledger's lock, which it reported before when it took the refusal for a stopped agent).
    /// </summary>
    [TestMethod]
    public async Task Cli_QueryAndARelayedCommandAgainstTheHttpsApi_TrustTheCertificateFromSslCertFile()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("SSL_CERT_FILE is the trust setting of .NET on Linux only");
        }

        using var files = new TemporaryDirectory();
        using var certificate = SelfSigned();
        var certificatePath = Write(files.Path, "agent.crt", certificate.ExportCertificatePem());
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            options.Tls.CertificatePath = certificatePath;
            options.Tls.KeyPath = Write(files.Path, "agent.key", certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        });
        agent.Host.ApiAddress!.Scheme.ShouldBe("https");

        string[] query = ["query", "--data-dir", agent.DataDirectory, "SELECT 'https-ok' AS answer"];
        string[] relayed = ["report", "chargeback", "--data-dir", agent.DataDirectory, "--period", "2026-10", "--format", "csv"];

        var trustedQuery = await RunCliAsync(certificatePath, query);
        trustedQuery.ExitCode.ShouldBe(0, trustedQuery.Error);
        trustedQuery.Output.ShouldContain("https-ok");
        var trustedRelay = await RunCliAsync(certificatePath, relayed);
        trustedRelay.ExitCode.ShouldBe(0, trustedRelay.Error);
        foreach (var untrusted in new[] { await RunCliAsync(sslCertFile: null, query), await RunCliAsync(sslCertFile: null, relayed) })
        {
            untrusted.ExitCode.ShouldNotBe(0, untrusted.Output);
            untrusted.Error.ShouldContain("presented a certificate this machine does not trust");
            untrusted.Error.ShouldContain("SSL_CERT_FILE");
            untrusted.Error.Trim().ShouldNotContain('\n');
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunCliAsync(string? sslCertFile, string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(RepositoryPaths.AgentAssembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("SSL_CERT_FILE");
        start.Environment.Remove("SSL_CERT_DIR");
        if (sslCertFile is not null)
        {
            start.Environment["SSL_CERT_FILE"] = sslCertFile;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    [TestMethod]
    public void Validate_CertificateFileMissing_NamesTheSetting()
    {
        var options = new Agent.Hosting.TlsOptions { CertificatePath = "/nonexistent/agent.pfx" };

        Should.Throw<InvalidOperationException>(options.Validate).Message.ShouldContain("Tls:CertificatePath");
    }

    /// <summary>A certificate for 127.0.0.1 and localhost, valid for a day, signed by itself.</summary>
    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    /// <summary>An HttpClient that trusts this certificate alone, and still checks that it names the host.</summary>
    private static HttpClient TrustingOnly(X509Certificate2 trusted)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(trusted);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        };
        return new HttpClient(handler);
    }

    private static string Write(string directory, string name, string text)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}

using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using OtelLlmCost.Agent.Cli;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Receivers.Otlp;
using YamlDotNet.RepresentationModel;

namespace OtelLlmCost.Agent.Tests.Install;

/// <summary>The files in deploy/ say what the agent does: the sample configuration is its defaults, the service files run it.</summary>
[TestClass]
public sealed class DeployFilesTests
{
    private static readonly string Deploy = Path.Combine(RepositoryPaths.Root, "deploy");
    private static readonly string SampleSettings = Path.Combine(Deploy, "appsettings.json");

    /// <summary>Every configuration section AgentConfiguration.Read reads, and the options object it fills.</summary>
    private static readonly Dictionary<string, Func<AgentOptions, object>> Sections = new(StringComparer.Ordinal)
    {
        ["Agent"] = options => options,
        ["Otlp"] = options => options.Otlp,
        ["Tls"] = options => options.Tls,
        ["Ledger"] = options => options.Ledger,
        ["Recognizer"] = options => options.Recognizer,
        ["Attribution"] = options => options.Recognizer.Attribution,
        ["Ownership"] = options => options.Ownership,
        ["Pricing"] = options => options,
        ["Rollups"] = options => options.Rollups,
        ["Budgets"] = options => options.Budgets,
        ["Detection"] = options => options.Detection,
        ["Alerts"] = options => options.Alerts,
        ["Metrics"] = options => options.Metrics,
        ["Lake"] = options => options.Lake,
        ["Traces"] = options => options.Traces,
        ["Forwarding"] = options => options.Forwarding,
        ["Savings"] = options => options.Savings,
    };

    [TestMethod]
    public void SampleAppSettings_BindsToExactlyTheDefaultsAndValidates()
    {
        var sample = AgentConfiguration.Read(AgentConfiguration.Build(SampleSettings, new Dictionary<string, string?>()));
        var defaults = AgentConfiguration.Read(new ConfigurationBuilder().Build());

        sample.Validate();
        Serialize(sample).ShouldBe(Serialize(defaults), "deploy/appsettings.json must hold the defaults, nothing else");
    }

    [TestMethod]
    public void SampleAppSettings_ListsEverySectionAndEverySetting()
    {
        var sample = new ConfigurationBuilder().AddJsonFile(SampleSettings).Build();
        var defaults = new AgentOptions();

        sample.GetChildren().Select(section => section.Key).Order().ShouldBe(Sections.Keys.Order());
        foreach (var (name, options) in Sections)
        {
            var section = sample.GetSection(name);
            var keys = section.GetChildren().Select(child => child.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
            foreach (var property in Settings(options(defaults), name))
            {
                keys.ShouldContain(property, $"deploy/appsettings.json lacks {name}:{property}");
            }
        }
    }

    [TestMethod]
    public void Kubernetes_DeploymentServiceAndProbes_MatchTheAgentsDefaultPorts()
    {
        var documents = LoadYaml(Path.Combine(Deploy, "kubernetes", "otel-llm-cost.yaml"));
        var deployment = documents.Single(document => Scalar(document, "kind") == "Deployment");
        var service = documents.Single(document => Scalar(document, "kind") == "Service");
        var configMap = documents.Single(document => Scalar(document, "kind") == "ConfigMap");
        documents.ShouldContain(document => Scalar(document, "kind") == "PersistentVolumeClaim");

        var defaults = new AgentOptions();
        var defaultPorts = new Dictionary<string, int>
        {
            ["otlp-grpc"] = OtlpReceiverOptions.ParseEndpoint(defaults.Otlp.GrpcEndpoint).Port,
            ["otlp-http"] = OtlpReceiverOptions.ParseEndpoint(defaults.Otlp.HttpEndpoint).Port,
            ["api"] = OtlpReceiverOptions.ParseEndpoint(defaults.ApiEndpoint).Port,
        };

        Scalar(deployment, "spec", "replicas").ShouldBe("1", "one writer per ledger file");
        Scalar(deployment, "spec", "strategy", "type").ShouldBe("Recreate");
        var container = (YamlMappingNode)((YamlSequenceNode)Node(deployment, "spec", "template", "spec", "containers")).Children[0];
        var containerPorts = ((YamlSequenceNode)Node(container, "ports")).Children.Cast<YamlMappingNode>()
            .ToDictionary(port => Scalar(port, "name")!, port => int.Parse(Scalar(port, "containerPort")!, System.Globalization.CultureInfo.InvariantCulture));
        containerPorts.ShouldBe(defaultPorts);
        Scalar(container, "livenessProbe", "httpGet", "path").ShouldBe("/healthz");
        Scalar(container, "livenessProbe", "httpGet", "port").ShouldBe("api");
        Scalar(container, "readinessProbe", "httpGet", "path").ShouldBe("/readyz");
        Scalar(container, "readinessProbe", "httpGet", "port").ShouldBe("api");

        foreach (var port in ((YamlSequenceNode)Node(service, "spec", "ports")).Children.Cast<YamlMappingNode>())
        {
            int.Parse(Scalar(port, "port")!, System.Globalization.CultureInfo.InvariantCulture).ShouldBe(defaultPorts[Scalar(port, "targetPort")!]);
        }

        // The ConfigMap binds and listens on the pod's interfaces on the same ports; the container reads it through --config.
        var settingsFile = Path.Combine(Path.GetTempPath(), $"otel-llm-cost-k8s-{Guid.NewGuid():N}.json");
        File.WriteAllText(settingsFile, Scalar(configMap, "data", "appsettings.json"));
        try
        {
            // The API listens beyond loopback, so the Deployment gives the admin token from a Secret, as an environment variable.
            var tokenVariable = ((YamlSequenceNode)Node(container, "env")).Children.Cast<YamlMappingNode>()
                .Single(variable => Scalar(variable, "name") == "OTELLLMCOST__Agent__AdminToken");
            Scalar(tokenVariable, "valueFrom", "secretKeyRef", "key").ShouldNotBeNullOrEmpty();
            var options = AgentConfiguration.Read(AgentConfiguration.Build(settingsFile, new Dictionary<string, string?> { ["Agent:AdminToken"] = "from-the-secret" }));
            options.Validate();
            options.Otlp.GrpcEndpoint.ShouldBe($"0.0.0.0:{defaultPorts["otlp-grpc"]}");
            options.Otlp.HttpEndpoint.ShouldBe($"0.0.0.0:{defaultPorts["otlp-http"]}");
            options.ApiEndpoint.ShouldBe($"0.0.0.0:{defaultPorts["api"]}");
        }
        finally
        {
            File.Delete(settingsFile);
        }

        var args = ((YamlSequenceNode)Node(container, "args")).Children.Select(arg => ((YamlScalarNode)arg).Value!).ToArray();
        AgentCommandLine.Create().Parse(args).Errors.ShouldBeEmpty();
        var configDirectory = Path.GetDirectoryName(args[Array.IndexOf(args, "--config") + 1]);
        var mounts = ((YamlSequenceNode)Node(container, "volumeMounts")).Children.Cast<YamlMappingNode>().ToDictionary(m => Scalar(m, "mountPath")!, m => Scalar(m, "name")!);
        mounts[configDirectory!].ShouldBe("config");
        mounts[args[Array.IndexOf(args, "--data-dir") + 1]].ShouldBe("data");
    }

    [TestMethod]
    public void SystemdUnit_ExecStart_IsAValidServeCommandLineOnItsStateDirectory()
    {
        var lines = File.ReadAllLines(Path.Combine(Deploy, "systemd", "otel-llm-cost.service"));
        string Value(string key) => lines.Single(line => line.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..];

        var exec = Value("ExecStart").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var args = exec[1..];
        AgentCommandLine.Create().Parse(args).Errors.ShouldBeEmpty();
        args[0].ShouldBe("serve");
        args[Array.IndexOf(args, "--data-dir") + 1].ShouldBe($"/var/lib/{Value("StateDirectory")}");
        Value("KillSignal").ShouldBe("SIGTERM");
    }

    private static IEnumerable<string> Settings(object options, string section)
    {
        var properties = options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true });
        return section switch
        {
            // The Agent section holds only the scalar settings of AgentOptions; its child objects are sections of their own.
            "Agent" => properties.Where(p => p.PropertyType == typeof(string) || p.PropertyType.IsPrimitive || Nullable.GetUnderlyingType(p.PropertyType) is not null)
                .Select(p => p.Name),
            "Pricing" => ["Layers", "Update"],
            "Recognizer" => properties.Where(p => p.Name != "Attribution").Select(p => p.Name),
            // The binder appends a configured list to this one's default, so the sample names it in a comment instead.
            "Traces" => properties.Where(p => p.Name != "InheritedDimensions").Select(p => p.Name),
            _ => properties.Select(p => p.Name),
        };
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static string Serialize(AgentOptions options) => JsonSerializer.Serialize(options, Indented);

    private static List<YamlMappingNode> LoadYaml(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path))
        {
            stream.Load(reader);
        }

        return stream.Documents.Select(document => (YamlMappingNode)document.RootNode).ToList();
    }

    private static YamlNode Node(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }

        return node;
    }

    private static string? Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value;
}

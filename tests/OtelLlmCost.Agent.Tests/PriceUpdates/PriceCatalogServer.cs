using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace OtelLlmCost.Agent.Tests.PriceUpdates;

/// <summary>
/// Serves the shared genai-prices v2 and LiteLLM files of <c>../shared/data/prices</c> on 127.0.0.1 (the test is
/// inconclusive without them), the LiteLLM file with <see cref="NewModel"/> added, which no shipped catalog knows, plus
/// bad files. <see cref="LiteLlmBroken"/> makes the LiteLLM address serve a truncated file (a source gone bad).
/// </summary>
internal sealed class PriceCatalogServer : IAsyncDisposable
{
    public const string NewModel = "gpt-9-preview";

    private readonly WebApplication _app;

    private PriceCatalogServer(WebApplication app) => _app = app;

    public string Base => _app.Urls.Single();

    public string GenAiPrices => Base + "/genai-prices/v2/data.json";

    public string LiteLlm => Base + "/litellm/model_prices_and_context_window.json";

    public bool LiteLlmBroken { get; set; }

    public static async Task<PriceCatalogServer> StartAsync()
    {
        var shared = Path.GetFullPath(Path.Combine(RepositoryPaths.Root, "..", "shared", "data", "prices"));
        var genAi = Path.Combine(shared, "genai-prices", "v2_data.json");
        var liteLlmFile = Path.Combine(shared, "litellm", "model_prices_and_context_window.json");
        if (!File.Exists(genAi) || !File.Exists(liteLlmFile))
        {
            Assert.Inconclusive($"{shared} is absent (a clone without ../shared); skipped.");
        }

        var liteLlm = JsonNode.Parse(await File.ReadAllTextAsync(liteLlmFile))!.AsObject();
        liteLlm[NewModel] = new JsonObject
        {
            ["litellm_provider"] = "openai",
            ["mode"] = "chat",
            ["input_cost_per_token"] = 3e-06,
            ["output_cost_per_token"] = 1.2e-05,
        };
        var liteLlmBytes = JsonSerializer.SerializeToUtf8Bytes(liteLlm);
        var truncated = liteLlmBytes.AsMemory(0, 5000).ToArray();
        var genAiBytes = await File.ReadAllBytesAsync(genAi);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        PriceCatalogServer? server = null;
        app.MapGet("/genai-prices/v2/data.json", () => Results.Bytes(genAiBytes, "application/json"));
        app.MapGet("/litellm/model_prices_and_context_window.json",
            () => Results.Bytes(server!.LiteLlmBroken ? truncated : liteLlmBytes, "application/json"));
        app.MapGet("/bad.json", () => Results.Text("""{"not":"a catalog"}""", "application/json"));
        app.MapGet("/truncated.json", () => Results.Bytes(truncated, "application/json"));
        await app.StartAsync();
        server = new PriceCatalogServer(app);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

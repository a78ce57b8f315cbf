using System.Globalization;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Analytics.Alerts;

/// <summary>A model whose calls the ledger stores as <c>unpriced_model</c> (no cost), with what it used in the window.</summary>
public sealed record UnpricedModel(string Provider, string Model, long Calls, long InputTokens, long OutputTokens, DateTime FirstSeen, DateTime LastSeen)
{
    public string IncidentKey => $"{UnpricedModelAlerts.Kind}:{Provider}/{Model}";
}

/// <summary>
/// The unpriced-model alert: one incident per provider and model whose calls the ledger stores without a cost, opened
/// with its calls and tokens in the window and the exact steps that price it, and resolved (a follow-up on the same key)
/// once the catalog in force prices the model. A model the catalog prices already is never opened: its unpriced rows
/// are calls priced before an update and are repriced by it. One thread at a time.
/// </summary>
public sealed class UnpricedModelAlerts(LedgerStore store, IAlertSink sink, TimeProvider clock, TimeSpan window)
{
    public const string Kind = "unpriced_model";

    private readonly Dictionary<string, UnpricedModel> _open = new(StringComparer.Ordinal);

    /// <summary>The incidents open now, by key.</summary>
    public IReadOnlyCollection<string> OpenKeys => _open.Keys;

    /// <summary>Opens an incident for each unpriced model in the window not open yet, and resolves each open one now priced.</summary>
    /// <param name="isPriced">Whether the catalog in force prices a provider's model.</param>
    /// <param name="catalogVersion">The catalog in force, named in the alerts.</param>
    /// <returns>The unpriced models found in the window.</returns>
    public IReadOnlyList<UnpricedModel> Check(Func<string, string, bool> isPriced, string catalogVersion)
    {
        ArgumentNullException.ThrowIfNull(isPriced);
        store.CatchUp(); // the calls that asked for this check may still wait in the ledger's spool
        var now = clock.GetUtcNow().UtcDateTime;
        var found = Find(store, now - window, now);
        foreach (var model in found)
        {
            if (!isPriced(model.Provider, model.Model) && _open.TryAdd(model.IncidentKey, model))
            {
                sink.Publish(Opened(model, catalogVersion, window));
            }
        }

        foreach (var (key, model) in _open.Where(pair => isPriced(pair.Value.Provider, pair.Value.Model)).ToList())
        {
            _open.Remove(key);
            sink.Publish(new Alert(Kind, key, AlertSeverity.Info, $"{model.Provider}/{model.Model} is priced now",
                $"The catalog in force ({catalogVersion}) prices {model.Provider}/{model.Model}; its calls are priced from now on and the "
                + "stored unpriced_model calls were repriced by the price update.",
                now, Fields(model, catalogVersion), AlertUpdate.Resolved));
        }

        return found;
    }

    /// <summary>Models with <c>unpriced_model</c> calls starting in [<paramref name="from"/>, <paramref name="to"/>), most calls first.</summary>
    public static IReadOnlyList<UnpricedModel> Find(LedgerStore store, DateTime from, DateTime to)
    {
        ArgumentNullException.ThrowIfNull(store);
        using var connection = store.Connect();
        using var select = connection.Prepare("""
            SELECT coalesce(provider, ''), coalesce(nullif(response_model, ''), request_model, ''), count(*),
                   coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), min(start_time), max(start_time)
            FROM llm_calls
            WHERE pricing_status = 'unpriced_model' AND start_time >= $1 AND start_time < $2
            GROUP BY ALL
            ORDER BY count(*) DESC, 1, 2
            """);
        using var reader = select.Bind(1, from).Bind(2, to).Query();
        var models = new List<UnpricedModel>();
        while (reader.Read())
        {
            models.Add(new UnpricedModel(reader.GetString(0)!, reader.GetString(1)!, reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetDateTime(5), reader.GetDateTime(6)));
        }

        return models;
    }

    /// <summary>The opening: which model, what it used, and the two ways to price it, spelled out.</summary>
    public static Alert Opened(UnpricedModel model, string catalogVersion, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layer = $$"""{"layer": "my-prices", "providers": [{"id": "{{model.Provider}}", "models": [{"id": "{{model.Model}}", "prices": [{"effective_from": "2000-01-01", "input": INPUT_USD_PER_MTOK, "output": OUTPUT_USD_PER_MTOK}]}]}]}""";
        var calls = string.Create(CultureInfo.InvariantCulture,
            $"{model.Calls} calls ({model.InputTokens} input and {model.OutputTokens} output tokens) of {model.Provider}/{model.Model} in the last {Describe(window)}");
        var text = calls + $" have no cost: the catalog in force ({catalogVersion}) has no price for it. To price it, either run "
            + "`otel-llm-cost prices update --apply` (adds the models genai-prices and LiteLLM price; a running agent applies it at once and "
            + $"reprices these calls), or write your price as a layer to my-prices.json: {layer}; then stop the agent, run "
            + $"`otel-llm-cost reprice --layer my-prices.json --from {model.FirstSeen.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}`, "
            + "add the file to Pricing:Layers and start it again.";
        return new Alert(Kind, model.IncidentKey, AlertSeverity.Warning, $"Calls of an unpriced model: {model.Provider}/{model.Model}", text,
            new DateTimeOffset(model.FirstSeen, TimeSpan.Zero), Fields(model, catalogVersion));
    }

    private static Dictionary<string, string> Fields(UnpricedModel model, string catalogVersion) => new()
    {
        ["provider"] = model.Provider,
        ["model"] = model.Model,
        ["calls"] = model.Calls.ToString(CultureInfo.InvariantCulture),
        ["input_tokens"] = model.InputTokens.ToString(CultureInfo.InvariantCulture),
        ["output_tokens"] = model.OutputTokens.ToString(CultureInfo.InvariantCulture),
        ["first_seen"] = model.FirstSeen.ToString("o", CultureInfo.InvariantCulture),
        ["last_seen"] = model.LastSeen.ToString("o", CultureInfo.InvariantCulture),
        ["catalog_version"] = catalogVersion,
    };

    private static string Describe(TimeSpan window) => window.TotalHours >= 1 && window.TotalHours % 1 == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{window.TotalHours:0} h")
        : string.Create(CultureInfo.InvariantCulture, $"{window.TotalMinutes:0} min");
}

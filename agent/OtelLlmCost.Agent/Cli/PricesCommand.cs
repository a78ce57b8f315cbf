using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OtelLlmCost.Pricing.Audit;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.Pricing.Diff;
using OtelLlmCost.Pricing.Import;
using OtelLlmCost.SemanticConventions.Calls;
using Spectre.Console;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost prices list|show|cost|import|diff|validate|audit</c>. Thin: parsing and printing only; the catalog,
/// matching, arithmetic, importers, diff and audit live in OtelLlmCost.Pricing. Exit codes: 0 ok, 1 bad input (one
/// line on stderr) or a catalog that fails validation; <c>audit</c> exits 2 when disagreements are open.
/// </summary>
internal static class PricesCommand
{
    private static readonly JsonSerializerOptions JsonOutput = new() { WriteIndented = true };
    private static readonly JsonSerializerOptions JsonError = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var prices = new Command("prices", "Show, compute and maintain LLM prices (the dated price catalog).");
        prices.Subcommands.Add(CreateList());
        prices.Subcommands.Add(CreateShow());
        prices.Subcommands.Add(CreateCost());
        prices.Subcommands.Add(CreateImport());
        prices.Subcommands.Add(CreateDiff());
        prices.Subcommands.Add(CreateValidate());
        prices.Subcommands.Add(CreateAudit());
        prices.Subcommands.Add(PricesUpdateCommand.Create());
        return prices;
    }

    internal static Option<string?> CatalogOption() => new("--catalog")
    {
        Description = "A catalog directory or catalog.json to use instead of the shipped catalog.",
    };

    internal static Option<string[]> LayerOption() => new("--layer")
    {
        Description = "A user layer file over the catalog (repeatable; later layers win).",
        AllowMultipleArgumentsPerToken = false,
    };

    private static Command CreateList()
    {
        var command = new Command("list", "List the current price of every model (or of one provider).");
        var provider = new Option<string?>("--provider") { Description = "Only this catalog provider id." };
        var catalog = CatalogOption();
        var layers = LayerOption();
        var format = CommonOptions.Format();
        command.Options.Add(provider);
        command.Options.Add(catalog);
        command.Options.Add(layers);
        command.Options.Add(format);
        command.SetAction(parseResult => Run(parseResult, () =>
        {
            var cat = LoadCatalog(parseResult.GetValue(catalog), parseResult.GetValue(layers));
            var only = parseResult.GetValue(provider);
            if (only is not null && !cat.Providers.Any(p => string.Equals(p.Id, only, StringComparison.OrdinalIgnoreCase)))
            {
                var known = cat.Providers.Select(p => p.Id).Order(StringComparer.Ordinal).ToList();
                var suggestion = Suggestions.Closest(only, known) is { } close ? $"did you mean '{close}'? " : string.Empty;
                throw new BadInputException($"--provider '{only}' is not a catalog provider; {suggestion}known: {string.Join(", ", known)}.");
            }

            var rows = new List<string[]>();
            foreach (var p in cat.Providers.Where(p => only is null || string.Equals(p.Id, only, StringComparison.OrdinalIgnoreCase)))
            {
                foreach (var m in p.Models ?? [])
                {
                    var row = m.Prices?.OrderBy(r => r.EffectiveFrom).LastOrDefault();
                    if (row is not null)
                    {
                        rows.Add([p.Id, m.Id, row.Id ?? PriceIds.For(p.Id, m.Id, row.EffectiveFrom), Num(row.Input), Num(row.Output),
                            Num(row.CacheRead), Num(row.CacheWrite5m), Num(row.CacheWrite1h), Tiers(row)]);
                    }
                }
            }

            Print(parseResult, parseResult.GetValue(format),
                ["provider", "model", "price_id", "input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "tiers"], rows,
                $"catalog {cat.Version}, {rows.Count} models, USD per 1M tokens");
            return 0;
        }));
        return command;
    }

    private static Command CreateShow()
    {
        var command = new Command("show", "Show the catalog model a model name matches and all its dated prices.");
        var model = new Argument<string>("model") { Description = "Model name as spans carry it." };
        var provider = new Option<string?>("--provider") { Description = "Provider name (gen_ai.provider.name or catalog id)." };
        var catalog = CatalogOption();
        var layers = LayerOption();
        var format = CommonOptions.Format();
        command.Arguments.Add(model);
        command.Options.Add(provider);
        command.Options.Add(catalog);
        command.Options.Add(layers);
        command.Options.Add(format);
        command.SetAction(parseResult => Run(parseResult, () =>
        {
            var cat = LoadCatalog(parseResult.GetValue(catalog), parseResult.GetValue(layers));
            var name = parseResult.GetValue(model)!;
            var match = new CostCalculator(cat).Matcher.Match(parseResult.GetValue(provider), name)
                ?? throw new BadInputException($"no catalog model matches '{name}' (catalog {cat.Version}).");
            var rows = (match.Model.Prices ?? []).OrderBy(r => r.EffectiveFrom).Select(r => new[]
            {
                r.Id ?? PriceIds.For(match.ProviderId, match.ModelId, r.EffectiveFrom), CatalogDates.FormatUtc(r.EffectiveFrom),
                r.EffectiveTo is { } to ? CatalogDates.FormatUtc(to) : string.Empty, Num(r.Input), Num(r.Output), Num(r.CacheRead),
                Num(r.CacheWrite5m), Num(r.CacheWrite1h), Num(r.Reasoning), Tiers(r),
                string.Join(" ", (r.ServiceTiers ?? new Dictionary<string, ServiceTierPrice>()).Keys),
            }).ToList();
            var source = string.Join("; ", (match.Model.Provenance ?? []).Select(p => $"{p.Source} {p.Commit?[..Math.Min(12, p.Commit.Length)]} {p.Date} {p.Key}".Trim()));
            Print(parseResult, parseResult.GetValue(format),
                ["price_id", "effective_from", "effective_to", "input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning", "tiers", "service_tiers"],
                rows, $"{match.ProviderId}/{match.ModelId} (catalog {cat.Version}) {match.Note} {source}".Trim());
            return 0;
        }));
        return command;
    }

    private static Command CreateCost()
    {
        var command = new Command("cost", "Compute the cost of one call from its token counts.");
        var provider = new Option<string?>("--provider") { Description = "Provider name (gen_ai.provider.name or catalog id); guessed from the model name when omitted." };
        var model = new Option<string>("--model") { Description = "Model name.", Required = true };
        var input = new Option<long>("--input-tokens") { Description = "All input tokens, cache reads and writes included.", Required = true };
        var output = new Option<long>("--output-tokens") { Description = "All output tokens, reasoning included.", Required = true };
        var cacheRead = new Option<long>("--cache-read-tokens") { Description = "Input tokens read from the cache." };
        var cacheWrite = new Option<long>("--cache-write-tokens") { Description = "Input tokens written to the cache (all TTLs)." };
        var cacheWrite1h = new Option<long>("--cache-write-1h-tokens") { Description = "Of the cache writes, those with a 1-hour TTL." };
        var reasoning = new Option<long>("--reasoning-tokens") { Description = "Of the output tokens, those spent reasoning." };
        var serviceTier = new Option<string?>("--service-tier") { Description = "batch, flex, priority (default: standard)." };
        var at = new Option<string?>("--at") { Description = "When the call started (ISO-8601, UTC); default now." };
        var region = new Option<string?>("--region") { Description = "Processing region for regional multipliers (e.g. eu); Bedrock ids carry their own." };
        var catalog = CatalogOption();
        var layers = LayerOption();
        var format = CommonOptions.Format();
        foreach (var option in new Option[] { provider, model, input, output, cacheRead, cacheWrite, cacheWrite1h, reasoning, serviceTier, at, region, catalog, layers, format })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult => Run(parseResult, () =>
        {
            var cat = LoadCatalog(parseResult.GetValue(catalog), parseResult.GetValue(layers));
            var atText = parseResult.GetValue(at);
            var when = atText is null
                ? DateTime.UtcNow
                : CatalogDates.ParseUtc(atText) ?? throw new BadInputException($"--at '{atText}' is not an ISO-8601 date or time.");
            var usage = new TokenUsage
            {
                InputTokens = parseResult.GetValue(input),
                OutputTokens = parseResult.GetValue(output),
                CacheReadTokens = parseResult.GetValue(cacheRead),
                CacheWriteTokens = parseResult.GetValue(cacheWrite),
                CacheWrite1hTokens = parseResult.GetValue(cacheWrite1h),
                ReasoningTokens = parseResult.GetValue(reasoning),
            };
            var result = new CostCalculator(cat).Calculate(parseResult.GetValue(provider), parseResult.GetValue(model), usage,
                parseResult.GetValue(serviceTier), when, parseResult.GetValue(region));
            if (result.Status != PricingStatuses.Priced)
            {
                throw new BadInputException(result.Explanation);
            }

            PrintCost(parseResult, parseResult.GetValue(format), result);
            return 0;
        }));
        return command;
    }

    private static Command CreateImport()
    {
        var command = new Command("import", "Generate catalog files from a public catalog (genai-prices v2 or LiteLLM).");
        // --source, not --from: elsewhere --from is a time. The old name stays as an alias for existing scripts.
        var from = new Option<string>("--source", "--from") { Description = "The public catalog the file comes from.", Required = true }
            .OneOf("genai-prices", "litellm");
        var file = new Argument<string>("file") { Description = "The source data file (v2_data.json or model_prices_and_context_window.json)." };
        var litellm = new Option<string?>("--litellm") { Description = "With --source genai-prices: a LiteLLM file that fills service tiers and missing models." };
        var outDir = new Option<string>("--out") { Description = "Catalog directory to write.", Required = true };
        var version = new Option<string?>("--catalog-version") { Description = "Catalog version to record (default: today's date + .1)." };
        var commit = new Option<string?>("--source-commit") { Description = "Commit of the source data (provenance)." };
        var date = new Option<string?>("--source-date") { Description = "Date of the source data (provenance)." };
        var llCommit = new Option<string?>("--litellm-commit") { Description = "Commit of the LiteLLM file (provenance)." };
        var llDate = new Option<string?>("--litellm-date") { Description = "Date of the LiteLLM file (provenance)." };
        var corrections = new Option<string?>("--corrections") { Description = "A layer of reviewed fixes applied to the imported data last." };
        command.Arguments.Add(file);
        foreach (var option in new Option[] { from, litellm, outDir, version, commit, date, llCommit, llDate, corrections })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult => Run(parseResult, () =>
        {
            var path = RequireFile(parseResult.GetValue(file)!);
            var kind = parseResult.GetValue(from)!;
            var source = new ImportSource(kind, parseResult.GetValue(commit), parseResult.GetValue(date));
            var sources = new List<Provenance> { new() { Source = kind, Commit = source.Commit, Date = source.Date, Key = Path.GetFileName(path) } };
            ImportResult result;
            var fixes = parseResult.GetValue(corrections) is { } fixesPath ? PriceCatalog.ReadLayer(RequireFile(fixesPath)) : null;
            if (kind == "litellm")
            {
                result = CatalogImport.Combine(LiteLlmImporter.Import(path, source), null, fixes);
            }
            else
            {
                IReadOnlyList<ProviderDefinition>? filler = null;
                if (parseResult.GetValue(litellm) is { } llPath)
                {
                    var llSource = new ImportSource("litellm", parseResult.GetValue(llCommit), parseResult.GetValue(llDate));
                    filler = LiteLlmImporter.Import(RequireFile(llPath), llSource);
                    sources.Add(new Provenance { Source = "litellm", Commit = llSource.Commit, Date = llSource.Date, Key = Path.GetFileName(llPath) });
                }

                result = CatalogImport.Combine(GenAiPricesImporter.Import(path, source), filler, fixes);
            }

            var catalogVersion = parseResult.GetValue(version) ?? DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + ".1";
            var manifest = CatalogWriter.Write(parseResult.GetValue(outDir)!, catalogVersion, result.Providers, sources);
            var models = result.Providers.Sum(p => p.Models?.Count ?? 0);
            parseResult.InvocationConfiguration.Output.WriteLine(
                $"catalog {manifest.CatalogVersion}: {result.Providers.Count} providers, {models} models " +
                $"({result.Added} added and {result.Enriched} enriched from LiteLLM, {result.Disagreed} left as genai-prices has them); sha256 {manifest.ContentSha256}");
            return 0;
        }));
        return command;
    }

    private static Command CreateDiff()
    {
        var command = new Command("diff", "List prices added, removed and changed from catalog A to catalog B.");
        var a = new Argument<string>("a") { Description = "Catalog directory or catalog.json (the older one); 'shipped' for the built-in catalog." };
        var b = new Argument<string>("b") { Description = "Catalog directory or catalog.json (the newer one); 'shipped' for the built-in catalog." };
        var format = CommonOptions.Format();
        command.Arguments.Add(a);
        command.Arguments.Add(b);
        command.Options.Add(format);
        command.SetAction(parseResult => Run(parseResult, () =>
        {
            var before = LoadCatalog(parseResult.GetValue(a), null);
            var after = LoadCatalog(parseResult.GetValue(b), null);
            var changes = CatalogDiff.Compare(before, after);
            Print(parseResult, parseResult.GetValue(format), ["change", "provider", "model", "price_id", "detail"],
                [.. changes.Select(c => new[] { c.Kind.ToString().ToLowerInvariant(), c.Provider, c.Model, c.PriceId ?? string.Empty, c.Detail })],
                $"{before.Version} → {after.Version}: {changes.Count(c => c.Kind == CatalogChangeKind.Added)} added, " +
                $"{changes.Count(c => c.Kind == CatalogChangeKind.Removed)} removed, {changes.Count(c => c.Kind == CatalogChangeKind.Changed)} changed");
            return 0;
        }));
        return command;
    }

    private static Command CreateValidate()
    {
        var command = new Command("validate", "Check a catalog, provider file or user layer: shape, ids, date ranges, tiers.");
        var file = new Argument<string>("file") { Description = "Catalog directory, catalog.json, provider file or layer file." };
        var format = CommonOptions.Format();
        command.Arguments.Add(file);
        command.Options.Add(format);
        command.SetAction(parseResult => Run(parseResult, () =>
        {
            var path = parseResult.GetValue(file)!;
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                throw new BadInputException($"no such file or directory: {path}");
            }

            var issues = CatalogValidator.ValidateFile(path);
            var errors = issues.Count(i => i.Severity == CatalogIssueSeverity.Error);
            Print(parseResult, parseResult.GetValue(format), ["severity", "where", "message"],
                [.. issues.Select(i => new[] { i.Severity.ToString().ToLowerInvariant(), i.Where, i.Message })],
                $"{path}: {errors} errors, {issues.Count - errors} warnings");
            if (errors > 0)
            {
                parseResult.InvocationConfiguration.Error.WriteLine($"{path}: {errors} validation errors");
                return 1;
            }

            return 0;
        }));
        return command;
    }

    /// <summary>Exit code of <c>prices audit</c> when disagreements without a reviewed decision remain.</summary>
    internal const int OpenDisagreementsExitCode = 2;

    private static Command CreateAudit()
    {
        var command = new Command("audit",
            "Compare genai-prices and LiteLLM model by model with the catalog; list every disagreement, what the catalog took and whether a reviewed decision settles it. Exit 2 when some are open.");
        var genAiPrices = new Option<string>("--genai-prices") { Description = "The genai-prices v2 data file (v2_data.json).", Required = true };
        var litellm = new Option<string>("--litellm") { Description = "The LiteLLM file (model_prices_and_context_window.json).", Required = true };
        var corrections = new Option<string?>("--corrections")
        {
            Description = "The corrections file whose decisions settle disagreements (default: the shipped one, with the shipped catalog).",
        };
        var provider = new Option<string[]>("--provider") { Description = "Only this catalog provider id (repeatable)." };
        var at = new Option<string?>("--at") { Description = "Compare the prices in effect at this instant (ISO-8601, UTC); default now." };
        var openOnly = new Option<bool>("--open") { Description = "List only the disagreements no decision settles." };
        var catalog = CatalogOption();
        var format = CommonOptions.Format();
        foreach (var option in new Option[] { genAiPrices, litellm, corrections, provider, at, openOnly, catalog, format })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult => Run(parseResult, () =>
        {
            var catalogPath = parseResult.GetValue(catalog);
            var cat = LoadCatalog(catalogPath, null);
            var decisions = parseResult.GetValue(corrections) is { } fixesPath
                ? PriceCatalog.ReadLayer(RequireFile(fixesPath)).Decisions
                : catalogPath is null or "shipped" ? PriceCatalog.LoadShippedCorrections().Decisions : null;
            var atText = parseResult.GetValue(at);
            var when = atText is null
                ? DateTime.UtcNow
                : CatalogDates.ParseUtc(atText) ?? throw new BadInputException($"--at '{atText}' is not an ISO-8601 date or time.");
            var gp = GenAiPricesImporter.Import(RequireFile(parseResult.GetValue(genAiPrices)!), new ImportSource("genai-prices", null, null));
            var ll = LiteLlmImporter.Import(RequireFile(parseResult.GetValue(litellm)!), new ImportSource("litellm", null, null));
            var report = CatalogAudit.Run(gp, ll, cat, [.. decisions ?? []], when);
            var only = parseResult.GetValue(provider) ?? [];
            var findings = report.Findings
                .Where(f => only.Length == 0 || only.Contains(f.Provider, StringComparer.OrdinalIgnoreCase))
                .ToList();
            var open = findings.Count(f => f.Status != AuditStatus.Resolved);
            var summary = only.Length == 0
                ? report.Summary
                : $"{string.Join(", ", only)}: {findings.Count} disagreements: {findings.Count - open} resolved, {open} open (all providers: {report.Summary})";
            var listed = parseResult.GetValue(openOnly) ? findings.Where(f => f.Status != AuditStatus.Resolved).ToList() : findings;
            string[] header = ["provider", "model", "litellm_key", "aspect", "genai_prices", "litellm", "catalog", "catalog_took", "status", "decision_source", "checked"];
            var rows = listed.Select(f => new[]
            {
                f.Provider, f.Model, f.LiteLlmKey, f.Aspect, f.GenAiPrices, f.LiteLlm, f.Catalog, f.CatalogTook, AuditStatusName(f.Status),
                f.Decision?.Source ?? string.Empty, f.Decision?.Checked ?? string.Empty,
            }).ToList();
            var formatName = parseResult.GetValue(format);
            if (formatName == OutputFormat.Json)
            {
                var items = new JsonArray();
                foreach (var row in rows)
                {
                    var item = new JsonObject();
                    for (var i = 0; i < header.Length; i++)
                    {
                        item[header[i]] = row[i];
                    }

                    items.Add(item);
                }

                var json = new JsonObject
                {
                    ["catalog_version"] = cat.Version,
                    ["at"] = CatalogDates.FormatUtc(when),
                    ["disagreements"] = findings.Count,
                    ["resolved"] = findings.Count - open,
                    ["open"] = open,
                    ["summary"] = summary,
                    ["findings"] = items,
                };
                parseResult.InvocationConfiguration.Output.WriteLine(json.ToJsonString(JsonOutput));
            }
            else
            {
                Print(parseResult, formatName, header, rows, $"catalog {cat.Version}: {summary}");
            }

            return open > 0 ? OpenDisagreementsExitCode : 0;
        }));
        return command;
    }

    private static string AuditStatusName(AuditStatus status) => status switch
    {
        AuditStatus.Resolved => "resolved",
        AuditStatus.NotApplied => "decision_not_applied",
        _ => "open",
    };

    internal static PriceCatalog LoadCatalog(string? path, string[]? layers)
    {
        var catalog = path is null || path == "shipped" ? PriceCatalog.LoadShipped() : PriceCatalog.Load(RequireFileOrDirectory(path));
        foreach (var layer in layers ?? [])
        {
            catalog = catalog.WithLayerFile(RequireFile(layer));
        }

        return catalog;
    }

    private static string RequireFile(string path) =>
        File.Exists(path) ? path : throw new BadInputException($"no such file: {path}");

    private static string RequireFileOrDirectory(string path) =>
        File.Exists(path) || Directory.Exists(path) ? path : throw new BadInputException($"no such file or directory: {path}");

    private static int Run(ParseResult parseResult, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is BadInputException or CatalogFormatException or IOException or JsonException)
        {
            var reason = ex.Message.ReplaceLineEndings(" ");
            if (parseResult.CommandResult.Command.Options.Any(option => option.Name == "--format")
                && parseResult.GetValue<OutputFormat>("--format") == OutputFormat.Json)
            {
                // A machine asked for JSON: it gets JSON on failure too, not text it cannot parse.
                parseResult.InvocationConfiguration.Output.WriteLine(new JsonObject { ["error"] = reason }.ToJsonString(JsonError));
            }

            parseResult.InvocationConfiguration.Error.WriteLine(reason);
            return 1;
        }
    }

    private static void PrintCost(ParseResult parseResult, OutputFormat format, CostBreakdown r)
    {
        string[] header = ["part", "price_usd_per_1m", "cost_usd"];
        List<string[]> rows =
        [
            ["input", Num(r.Prices.Input), Num(r.InputCost)],
            ["cache_read", Num(r.Prices.CacheRead), Num(r.CacheReadCost)],
            ["cache_write_5m", Num(r.Prices.CacheWrite5m), Num(r.CacheWrite5mCost)],
            ["cache_write_1h", Num(r.Prices.CacheWrite1h), Num(r.CacheWrite1hCost)],
            ["output", Num(r.Prices.Output), Num(r.OutputCost)],
            ["total", string.Empty, Num(r.TotalCost)],
        ];
        if (format == OutputFormat.Json)
        {
            var json = new JsonObject
            {
                ["total_usd"] = r.TotalCost,
                ["input_usd"] = r.InputCost,
                ["cache_read_usd"] = r.CacheReadCost,
                ["cache_write_5m_usd"] = r.CacheWrite5mCost,
                ["cache_write_1h_usd"] = r.CacheWrite1hCost,
                ["output_usd"] = r.OutputCost,
                ["reasoning_usd"] = r.ReasoningCost,
                ["provider"] = r.ProviderId,
                ["model"] = r.ModelId,
                ["price_id"] = r.PriceId,
                ["catalog_version"] = r.CatalogVersion,
                ["tier_above_input_tokens"] = r.TierAboveInputTokens,
                ["service_tier"] = r.ServiceTier,
                ["fallbacks"] = new JsonArray([.. r.Fallbacks.Select(f => (JsonNode?)JsonValue.Create(f))]),
                ["explanation"] = r.Explanation,
            };
            parseResult.InvocationConfiguration.Output.WriteLine(json.ToJsonString(JsonOutput));
            return;
        }

        Print(parseResult, format, header, rows, r.Explanation);
    }

    private static void Print(ParseResult parseResult, OutputFormat format, string[] header, IReadOnlyList<string[]> rows, string caption)
    {
        var output = parseResult.InvocationConfiguration.Output;
        switch (format)
        {
            case OutputFormat.Json:
                var array = new JsonArray();
                foreach (var row in rows)
                {
                    var item = new JsonObject();
                    for (var i = 0; i < header.Length; i++)
                    {
                        item[header[i]] = row[i];
                    }

                    array.Add(item);
                }

                output.WriteLine(array.ToJsonString(JsonOutput));
                break;
            case OutputFormat.Csv:
                output.WriteLine(string.Join(",", header));
                foreach (var row in rows)
                {
                    output.WriteLine(string.Join(",", row.Select(Csv)));
                }

                break;
            default:
                var table = new Table();
                foreach (var column in header)
                {
                    table.AddColumn(Markup.Escape(column));
                }

                foreach (var row in rows)
                {
                    table.AddRow([.. row.Select(Markup.Escape)]);
                }

                PlainConsole.Write(table, output);
                output.WriteLine(caption);
                break;
        }
    }

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    private static string Num(decimal? value) =>
        value is { } v ? (v / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture) : string.Empty;

    private static string Tiers(PriceRowDefinition row)
    {
        if (row.Tiers is not { Count: > 0 } tiers)
        {
            return string.Empty;
        }

        var text = new StringBuilder();
        foreach (var tier in tiers)
        {
            text.Append(CultureInfo.InvariantCulture, $">{tier.AboveInputTokens}: {Num(tier.Input)}/{Num(tier.Output)} ");
        }

        return text.ToString().TrimEnd();
    }

    internal sealed class BadInputException(string message) : Exception(message);
}

namespace OtelLlmCost.Analytics.Budgets;

/// <summary>
/// A model access rule for a scope ("team search may use only gpt-4o-mini and claude-haiku-*; never aws.bedrock").
/// Names compare case-insensitively and <c>*</c> matches any run of characters. A deny list wins over an allow list;
/// a non-empty allow list forbids everything it does not name. A rule about a provider (or model) is only applied
/// when the provider (or model) is known, so a check that names only the model is judged on the model.
/// </summary>
public sealed class ModelPolicy
{
    public string Id { get; set; } = "";

    public string? Description { get; set; }

    /// <summary>Which calls the rule governs; its provider and model must be unset (they are what the rule is about).</summary>
    public BudgetScope Scope { get; set; } = new();

    public IReadOnlyList<string>? AllowedModels { get; set; }

    public IReadOnlyList<string>? DeniedModels { get; set; }

    public IReadOnlyList<string>? AllowedProviders { get; set; }

    public IReadOnlyList<string>? DeniedProviders { get; set; }

    public void Validate()
    {
        BudgetDefinition.ValidateId(Id, "policy");
        ArgumentNullException.ThrowIfNull(Scope, nameof(Scope));
        if (Scope.Provider is not null || Scope.Model is not null)
        {
            throw new ArgumentException($"Policy '{Id}': the scope may not name a provider or model; use the allowed/denied lists.");
        }

        if (Count(AllowedModels) + Count(DeniedModels) + Count(AllowedProviders) + Count(DeniedProviders) == 0)
        {
            throw new ArgumentException($"Policy '{Id}' names no allowed or denied models or providers.");
        }
    }

    /// <summary>Null when a call of <paramref name="provider"/>/<paramref name="model"/> is allowed; otherwise why not.</summary>
    public string? Deny(string? provider, string? model)
    {
        if (!string.IsNullOrEmpty(provider))
        {
            if (AnyMatch(DeniedProviders, provider))
            {
                return $"provider {provider} is denied for {Scope}";
            }

            if (Count(AllowedProviders) > 0 && !AnyMatch(AllowedProviders, provider))
            {
                return $"provider {provider} is not among the providers allowed for {Scope} ({string.Join(", ", AllowedProviders!)})";
            }
        }

        if (!string.IsNullOrEmpty(model))
        {
            if (AnyMatch(DeniedModels, model))
            {
                return $"model {model} is denied for {Scope}";
            }

            if (Count(AllowedModels) > 0 && !AnyMatch(AllowedModels, model))
            {
                return $"model {model} is not among the models allowed for {Scope} ({string.Join(", ", AllowedModels!)})";
            }
        }

        return null;
    }

    /// <summary>Glob match with <c>*</c> only, case-insensitive.</summary>
    internal static bool Matches(string pattern, string value)
    {
        var p = 0;
        var v = 0;
        var star = -1;
        var mark = 0;
        while (v < value.Length)
        {
            if (p < pattern.Length && pattern[p] != '*' && char.ToUpperInvariant(pattern[p]) == char.ToUpperInvariant(value[v]))
            {
                p++;
                v++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = v;
            }
            else if (star >= 0)
            {
                p = star + 1;
                v = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool AnyMatch(IReadOnlyList<string>? patterns, string value) => patterns is not null && patterns.Any(pattern => Matches(pattern, value));

    private static int Count(IReadOnlyList<string>? list) => list?.Count ?? 0;
}

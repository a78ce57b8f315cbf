using System.Text;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.SemanticConventions.Recognition.Attribution;

/// <summary>
/// One line of an ownership map: when every <see cref="Match"/> entry matches the call, the rule supplies the
/// dimensions it sets. A pattern is exact, a prefix (<c>payments-*</c>) or a glob (<c>*</c> any run, <c>?</c> one
/// character), compared ordinally.
/// </summary>
public sealed class OwnershipRule
{
    /// <summary>Recorded in the call's explanation; letters, digits and <c>-_./</c> only.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// Key → pattern. The keys <see cref="OwnershipMap.CallKeys"/> read the call (after attribution and the ingest
    /// token); any other key reads the span attribute, else the resource attribute (on history: the call's tags).
    /// </summary>
    public IDictionary<string, string> Match { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public string? Team { get; set; }

    public string? CostCenter { get; set; }

    public string? Tenant { get; set; }

    public string? Environment { get; set; }

    /// <summary>False (the default): only fills what the call lacks. True: replaces the call's own values.</summary>
    public bool Override { get; set; }

    /// <summary>What the rule sets for one of the owned dimensions (<see cref="DimensionUses.Owned"/>); null: it leaves it.</summary>
    internal string? Sets(CallDimension dimension) =>
        dimension == CallDimensions.Team ? Team
        : dimension == CallDimensions.CostCenter ? CostCenter
        : dimension == CallDimensions.Tenant ? Tenant
        : dimension == CallDimensions.Environment ? Environment
        : throw new ArgumentException($"An ownership rule cannot set '{dimension}'.", nameof(dimension));
}

/// <summary>
/// The ownership map (FinOps' "enrich usage with ownership metadata"): ordered rules that fill team, cost center,
/// tenant and environment from who sent a call (service, namespace, ingest token, provider, model). For each
/// dimension the first matching rule that sets it wins; a call's own value is kept unless that rule overrides.
/// What the map set is recorded in the explanation as <c>owner=team:rule,cost_center:rule^was</c> (<c>^was</c>: the
/// overridden value, URI-escaped), so <see cref="Revert"/> can undo it and a changed map can be applied to history.
/// Pure and thread-safe.
/// </summary>
public sealed class OwnershipMap
{
    public const string ExplanationTag = "owner=";

    /// <summary>Match keys that read the call itself rather than an attribute (<c>service.name</c> is read as <c>service</c>, so history matches the same).</summary>
    public static readonly IReadOnlyList<string> CallKeys =
        [.. CallDimensions.With(DimensionUses.Rollup).Select(dimension => dimension.Name), "service.name", "operation"];

    /// <summary>The dimensions a rule can set (<see cref="DimensionUses.Owned"/>), in the order they are written.</summary>
    public static readonly IReadOnlyList<string> Dimensions = [.. Owned.Select(dimension => dimension.Name)];

    private static IReadOnlyList<CallDimension> Owned => CallDimensions.With(DimensionUses.Owned);

    private readonly CompiledRule[] _rules;

    public OwnershipMap(IReadOnlyList<OwnershipRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _rules = new CompiledRule[rules.Count];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i] ?? throw new OwnershipMapException($"ownership rule {i + 1} is empty");
            var name = string.IsNullOrWhiteSpace(rule.Name) ? $"rule{i + 1}" : rule.Name.Trim();
            if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/'))
            {
                throw new OwnershipMapException($"ownership rule '{name}': a name holds letters, digits and -_./ only");
            }

            if (!names.Add(name))
            {
                throw new OwnershipMapException($"ownership rule '{name}' is named twice");
            }

            if (rule.Match is null || rule.Match.Count == 0)
            {
                throw new OwnershipMapException($"ownership rule '{name}' matches nothing (give at least one key and pattern)");
            }

            var sets = OwnedSlots.Select(rule.Sets).ToArray();
            if (sets.All(string.IsNullOrWhiteSpace))
            {
                throw new OwnershipMapException($"ownership rule '{name}' sets nothing ({string.Join(", ", Dimensions)})");
            }

            var conditions = new List<(string Key, Glob Pattern)>();
            foreach (var (key, pattern) in rule.Match)
            {
                if (string.IsNullOrWhiteSpace(key) || string.IsNullOrEmpty(pattern))
                {
                    throw new OwnershipMapException($"ownership rule '{name}' has a blank match key or pattern");
                }

                conditions.Add((key.Trim(), new Glob(pattern)));
            }

            _rules[i] = new CompiledRule(name, [.. conditions], sets.Select(v => string.IsNullOrWhiteSpace(v) ? null : v.Trim()).ToArray(),
                rule.Override);
        }
    }

    public int Count => _rules.Length;

    /// <summary>Attribute keys (not call keys) the rules read; on history these come from the call's tags.</summary>
    public IReadOnlyList<string> AttributeKeys =>
        _rules.SelectMany(r => r.Conditions).Select(c => c.Key).Where(k => !CallKeys.Contains(k)).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Fills the call's dimensions from the first matching rules; returns the explanation segment (null: no rule set anything).</summary>
    public string? Apply(LlmCall call, Func<string, string?> attribute)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(attribute);
        StringBuilder? applied = null;
        Span<bool> decided = stackalloc bool[4];
        foreach (var rule in _rules)
        {
            if (!Matches(rule, call, attribute))
            {
                continue;
            }

            for (var d = 0; d < 4; d++)
            {
                if (decided[d] || rule.Sets[d] is not { } value)
                {
                    continue;
                }

                decided[d] = true;
                var current = Get(call, d);
                if (!string.IsNullOrEmpty(current) && !rule.Override)
                {
                    continue; // the call's own value wins
                }

                if (string.Equals(current, value, StringComparison.Ordinal))
                {
                    continue;
                }

                Set(call, d, value);
                applied = applied is null ? new StringBuilder(ExplanationTag) : applied.Append(',');
                applied.Append(Dimensions[d]).Append(':').Append(rule.Name);
                if (!string.IsNullOrEmpty(current))
                {
                    applied.Append('^').Append(Uri.EscapeDataString(current));
                }
            }
        }

        return applied?.ToString();
    }

    /// <summary>Applies the map and appends what it set to the call's explanation.</summary>
    public void ApplyAndExplain(LlmCall call, Func<string, string?> attribute)
    {
        if (Apply(call, attribute) is { } segment)
        {
            call.Explanation = string.IsNullOrEmpty(call.Explanation) ? segment : call.Explanation + "; " + segment;
        }
    }

    /// <summary>
    /// Undoes what a map recorded in the call's explanation: each dimension it set goes back to the call's own value
    /// (the overridden one, or none), and the segment is removed. Returns false when the explanation has no segment.
    /// </summary>
    public static bool Revert(LlmCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (call.Explanation is not { } explanation)
        {
            return false;
        }

        var (start, length) = FindSegment(explanation);
        if (start < 0)
        {
            return false;
        }

        var body = explanation.Substring(start + ExplanationTag.Length, length - ExplanationTag.Length);
        foreach (var entry in body.Split(','))
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var d = colon < 0 ? -1 : IndexOf(entry[..colon]);
            if (d < 0)
            {
                continue;
            }

            var caret = entry.IndexOf('^', colon);
            Set(call, d, caret < 0 ? null : Uri.UnescapeDataString(entry[(caret + 1)..]));
        }

        // Remove "; owner=..." (or a leading "owner=...; ").
        var cutStart = start >= 2 && explanation.AsSpan(start - 2, 2) is "; " ? start - 2 : start;
        var cutEnd = start + length;
        if (cutStart == start && cutEnd + 2 <= explanation.Length && explanation.AsSpan(cutEnd, 2) is "; ")
        {
            cutEnd += 2;
        }

        call.Explanation = explanation.Remove(cutStart, cutEnd - cutStart);
        return true;
    }

    private static (int Start, int Length) FindSegment(string explanation)
    {
        int start;
        if (explanation.StartsWith(ExplanationTag, StringComparison.Ordinal))
        {
            start = 0;
        }
        else
        {
            var separator = explanation.IndexOf("; " + ExplanationTag, StringComparison.Ordinal);
            if (separator < 0)
            {
                return (-1, 0);
            }

            start = separator + 2;
        }

        var end = explanation.IndexOf(';', start);
        return (start, (end < 0 ? explanation.Length : end) - start);
    }

    private static bool Matches(CompiledRule rule, LlmCall call, Func<string, string?> attribute)
    {
        foreach (var (key, pattern) in rule.Conditions)
        {
            var value = CallValue(call, key, out var isCallKey);
            if (!isCallKey)
            {
                value = attribute(key);
            }

            if (value is null || !pattern.IsMatch(value))
            {
                return false;
            }
        }

        return true;
    }

    private static string? CallValue(LlmCall call, string key, out bool isCallKey)
    {
        isCallKey = true;
        switch (key)
        {
            case "service.name": return call.Service;
            case "operation": return call.Operation;
            default:
                if (CallDimensions.Named(key) is { } dimension && dimension.Has(DimensionUses.Rollup))
                {
                    return dimension.Of(call);
                }

                isCallKey = false;
                return null;
        }
    }

    private static int IndexOf(string dimension)
    {
        for (var i = 0; i < Dimensions.Count; i++)
        {
            if (Dimensions[i] == dimension)
            {
                return i;
            }
        }

        return -1;
    }

    private static readonly CallDimension[] OwnedSlots = [.. Owned];

    private static string? Get(LlmCall call, int dimension) => OwnedSlots[dimension].Of(call);

    private static void Set(LlmCall call, int dimension, string? value) => OwnedSlots[dimension].Set(call, value);

    private sealed record CompiledRule(string Name, (string Key, Glob Pattern)[] Conditions, string?[] Sets, bool Override);

    /// <summary>Exact, prefix or glob (<c>*</c>, <c>?</c>), ordinal; no regular expressions, so no pattern can be slow.</summary>
    private sealed class Glob(string pattern)
    {
        private readonly string _pattern = pattern;
        private readonly bool _exact = pattern.IndexOfAny(['*', '?']) < 0;

        public bool IsMatch(string value) => _exact ? string.Equals(value, _pattern, StringComparison.Ordinal) : Match(_pattern, value);

        private static bool Match(ReadOnlySpan<char> pattern, ReadOnlySpan<char> value)
        {
            int p = 0, v = 0, star = -1, mark = 0;
            while (v < value.Length)
            {
                if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == value[v]))
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
    }
}

/// <summary>An ownership map that cannot be used (a rule without a match, a bad name); the message says which and why.</summary>
public sealed class OwnershipMapException(string message) : InvalidOperationException(message);

using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// The attribution dimensions a call can inherit (<see cref="DimensionUses.Inheritable"/> in <see cref="CallDimensions"/>),
/// as slots 0..<see cref="Count"/>-1: their configuration names, ledger columns, the attribute keys that supply them
/// (from <see cref="AttributionRules"/>) and their <see cref="LlmCall"/> values.
/// </summary>
internal static class InheritedDimension
{
    private static readonly CallDimension[] Dimensions = [.. CallDimensions.With(DimensionUses.Inheritable)];

    public static int Count => Dimensions.Length;

    public static IReadOnlyList<string> Names { get; } = Dimensions.Select(dimension => dimension.Name).ToArray();

    public static IReadOnlyList<string> Columns { get; } = Dimensions.Select(dimension => dimension.Column!).ToArray();

    /// <summary>The slot of an inheritable dimension.</summary>
    public static int SlotOf(CallDimension dimension) => Array.IndexOf(Dimensions, dimension) is >= 0 and var slot
        ? slot
        : throw new ArgumentException($"'{dimension}' is not inheritable.", nameof(dimension));

    public static bool TryParse(string name, out int slot)
    {
        for (slot = 0; slot < Count; slot++)
        {
            if (string.Equals(Names[slot], name?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        slot = -1;
        return false;
    }

    public static IReadOnlyList<string> Keys(AttributionRules rules, int slot) => Dimensions[slot].AttributeKeys!(rules);

    public static string? Get(LlmCall call, int slot) => Dimensions[slot].Of(call);

    public static void Set(LlmCall call, int slot, string value) => Dimensions[slot].Set(call, value);
}

namespace OtelLlmCost.Analytics.Reports;

/// <summary>Rounding money for people: cents, half away from zero, and allocations that keep totals whole.</summary>
public static class Money
{
    // Adding 0.00m gives every result two decimal places (1.20, not 1.2).
    public static decimal ToCents(decimal amount) => decimal.Round(amount, 2, MidpointRounding.AwayFromZero) + 0.00m;

    /// <summary>
    /// Rounds each amount to the cent so the rounded amounts add up to the rounded total (largest remainder method:
    /// every amount is first cut down to the cent, then the missing cents go to the largest cut-off remainders).
    /// Amounts are non-negative.
    /// </summary>
    public static decimal[] AllocateCents(IReadOnlyList<decimal> amounts)
    {
        ArgumentNullException.ThrowIfNull(amounts);
        var result = new decimal[amounts.Count];
        var total = 0m;
        for (var i = 0; i < amounts.Count; i++)
        {
            if (amounts[i] < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(amounts), "Amounts to allocate must not be negative.");
            }

            result[i] = decimal.Floor(amounts[i] * 100) * 0.01m;
            total += amounts[i];
        }

        var missingCents = (int)((ToCents(total) - result.Sum()) * 100);
        var order = Enumerable.Range(0, amounts.Count)
            .OrderByDescending(i => amounts[i] - result[i])
            .ThenBy(i => i)
            .Take(missingCents);
        foreach (var i in order)
        {
            result[i] += 0.01m;
        }

        return result;
    }
}

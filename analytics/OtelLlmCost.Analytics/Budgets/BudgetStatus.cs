namespace OtelLlmCost.Analytics.Budgets;

/// <summary>
/// Where spend is heading in a calendar window at the burn rate so far (spend ÷ time elapsed): the spend projected at
/// the window's end and, when that exceeds the limit, the instant the limit is crossed.
/// </summary>
public sealed record BudgetForecast(decimal BurnRateUsdPerHour, decimal ProjectedUsd, DateTime? CrossesLimitAt)
{
    /// <summary>A forecast needs this share of the window behind it; earlier the rate is mostly noise.</summary>
    public const double MinimumElapsedShare = 0.1;

    /// <summary>The forecast for <paramref name="window"/> at <paramref name="now"/>, or null for a rolling window, no spend yet, or too early.</summary>
    public static BudgetForecast? Project(decimal spentUsd, decimal limitUsd, BudgetWindow window, DateTime now)
    {
        if (window.IsRolling || spentUsd <= 0 || now <= window.Start || now >= window.End)
        {
            return null;
        }

        var elapsed = now - window.Start;
        var length = window.End - window.Start;
        if (elapsed.Ticks < length.Ticks * MinimumElapsedShare)
        {
            return null;
        }

        var perTick = spentUsd / elapsed.Ticks;
        var projected = spentUsd + (perTick * (window.End - now).Ticks);
        DateTime? crosses = null;
        if (spentUsd < limitUsd && projected >= limitUsd)
        {
            // (limit − spent) × elapsed ÷ spent multiplies before dividing, so whole-day rates give whole-tick answers.
            crosses = now + TimeSpan.FromTicks((long)decimal.Round((limitUsd - spentUsd) * elapsed.Ticks / spentUsd));
        }

        return new BudgetForecast(decimal.Round(perTick * TimeSpan.TicksPerHour, 9), decimal.Round(projected, 9), crosses);
    }
}

/// <summary>A budget evaluated at one instant.</summary>
public sealed record BudgetStatus(
    BudgetDefinition Budget,
    BudgetWindow Window,
    decimal SpentUsd,
    long RequestsPerMinute,
    long TokensPerMinute,
    BudgetForecast? Forecast,
    DateTime EvaluatedAt)
{
    public decimal RemainingUsd => Budget.LimitUsd > SpentUsd ? Budget.LimitUsd - SpentUsd : 0;

    public decimal UsedPercent => decimal.Round(SpentUsd / Budget.LimitUsd * 100, 2);

    public bool IsExhausted => SpentUsd >= Budget.LimitUsd;
}

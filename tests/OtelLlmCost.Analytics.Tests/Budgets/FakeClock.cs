namespace OtelLlmCost.Analytics.Tests.Budgets;

/// <summary>A settable clock (Microsoft.Extensions.TimeProvider.Testing is not on the package mirror).</summary>
internal sealed class FakeClock(DateTime utcNow) : TimeProvider
{
    public DateTime UtcNow { get; set; } = utcNow;

    public override DateTimeOffset GetUtcNow() => new(DateTime.SpecifyKind(UtcNow, DateTimeKind.Utc), TimeSpan.Zero);
}

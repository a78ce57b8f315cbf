using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Agent.Detection;

namespace OtelLlmCost.Agent.Tests.Detection;

[TestClass]
public sealed class IngestYieldTests
{
    [TestMethod]
    public void Wait_WhileIngestNeedsRoom_WaitsAStepAtATimeUntilItNoLongerDoes()
    {
        var clock = new FakeTimeProvider();
        var busyChecks = 3;
        var yield = new IngestYield(() => Interlocked.Decrement(ref busyChecks) >= 0, clock);

        var waiting = Task.Run(() => yield.Wait(CancellationToken.None));
        while (!waiting.Wait(1))
        {
            clock.Advance(IngestYield.Step);
        }

        yield.Waits.ShouldBe(3);
        yield.Waited.ShouldBe(3 * IngestYield.Step);
    }

    [TestMethod]
    public void Wait_IngestNeverQuiets_GivesUpAfterMaxWait()
    {
        var clock = new FakeTimeProvider();
        var yield = new IngestYield(() => true, clock);

        var waiting = Task.Run(() => yield.Wait(CancellationToken.None));
        while (!waiting.Wait(1))
        {
            clock.Advance(IngestYield.Step);
        }

        yield.Waits.ShouldBe((long)(IngestYield.MaxWait / IngestYield.Step));
    }

    [TestMethod]
    public void Wait_IngestQuiet_ReturnsWithoutWaiting()
    {
        var yield = new IngestYield(() => false, new FakeTimeProvider());

        yield.Wait(CancellationToken.None);

        yield.Waits.ShouldBe(0);
    }
}

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Detectors;
using OtelLlmCost.Analytics.Detection.Synthetic;

namespace OtelLlmCost.Analytics.Tests.Detection;

/// <summary>
/// Speed work on the cost-series ensemble (issue 17) must not change a verdict. The golden file holds what the
/// ensemble said, before that work, about a fixed set of synthetic series (seeds × incident kinds, hourly and
/// five-minute, cost, calls and NaN-holed ratio series, the default and the ledger options): every anomaly (index,
/// member, score, expected, onset) and, per series, sums over all points of score, expected and band width, which
/// move if any point's baseline moves. Regenerate only when a verdict is meant to change:
/// <c>OTELLLMCOST_UPDATE_GOLDEN=1 dotnet test tests/OtelLlmCost.Analytics.Tests --filter FullyQualifiedName~EnsembleIdentity</c>,
/// then review the diff.
/// </summary>
[TestClass]
public sealed class EnsembleIdentityTests
{
    // Relative: an optimisation may reorder a sum; anything beyond rounding is a changed verdict.
    private const double Tolerance = 1e-9;

    // Fields compared within the tolerance; the others (names, counts, indexes, members) must match exactly.
    private static readonly HashSet<string> NumericFields = ["input", "scores", "expected", "bands", "score"];

    [TestMethod]
    public void Evaluate_FixedSyntheticSeries_MatchesTheVerdictsOfTheOriginalEnsemble()
    {
        var actual = Describe();
        var golden = Path.Combine(SourceDirectory(), "Golden", "ensemble-verdicts.txt");
        if (Environment.GetEnvironmentVariable("OTELLLMCOST_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(golden)!);
            File.WriteAllText(golden, actual);
            Assert.Inconclusive($"Golden file {golden} rewritten; review the diff.");
        }

        if (!File.Exists(golden))
        {
            Assert.Inconclusive($"Golden file {golden} is missing (the test reads it from the source tree).");
        }

        var expectedLines = File.ReadAllLines(golden).Where(l => !l.StartsWith('#')).ToArray();
        var actualLines = actual.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')).ToArray();
        actualLines.Length.ShouldBe(expectedLines.Length, "a different number of series or anomalies than the golden file");
        for (var i = 0; i < expectedLines.Length; i++)
        {
            AssertSameLine(expectedLines[i], actualLines[i]);
        }
    }

    private static void AssertSameLine(string expected, string actual)
    {
        var e = expected.Split(' ');
        var a = actual.Split(' ');
        a.Length.ShouldBe(e.Length, $"expected `{expected}`, got `{actual}`");
        for (var k = 0; k < e.Length; k++)
        {
            var (eName, eValue) = Field(e[k]);
            var (aName, aValue) = Field(a[k]);
            aName.ShouldBe(eName, $"expected `{expected}`, got `{actual}`");
            if (NumericFields.Contains(eName))
            {
                var ev = double.Parse(eValue, NumberStyles.Float, CultureInfo.InvariantCulture);
                var av = double.Parse(aValue, NumberStyles.Float, CultureInfo.InvariantCulture);
                Math.Abs(av - ev).ShouldBeLessThanOrEqualTo(Tolerance * Math.Max(1, Math.Abs(ev)), $"{eName}: expected `{expected}`, got `{actual}`");
            }
            else
            {
                aValue.ShouldBe(eValue, $"expected `{expected}`, got `{actual}`");
            }
        }
    }

    private static (string Name, string Value) Field(string field)
    {
        var at = field.IndexOf('=', StringComparison.Ordinal);
        return at < 0 ? (field, "") : (field[..at], field[(at + 1)..]);
    }

    private static string Describe()
    {
        var text = new StringBuilder();
        text.Append("# Verdicts of CostSeriesDetector on fixed synthetic series; see EnsembleIdentityTests for how to regenerate.\n");
        foreach (var (name, values, interval, detector) in Cases())
        {
            var verdicts = detector.Evaluate(values, interval);
            double inputSum = 0, scoreSum = 0, expectedSum = 0, bandSum = 0;
            foreach (var v in values)
            {
                inputSum += double.IsNaN(v) ? 0 : v;
            }

            foreach (var v in verdicts)
            {
                scoreSum += v.Score;
                expectedSum += double.IsNaN(v.Expected) ? 0 : v.Expected;
                bandSum += double.IsNaN(v.Upper) ? 0 : v.Upper - v.Lower;
            }

            // The input's fingerprint first: if the generator changed, the series are not the ones the golden file judged.
            text.Append(CultureInfo.InvariantCulture, $"series={name} points={values.Length} input={R(inputSum)} anomalies={verdicts.Count(v => v.IsAnomaly)} ")
                .Append(CultureInfo.InvariantCulture, $"scores={R(scoreSum)} expected={R(expectedSum)} bands={R(bandSum)}\n");
            for (var i = 0; i < verdicts.Length; i++)
            {
                var v = verdicts[i];
                if (v.IsAnomaly)
                {
                    text.Append(CultureInfo.InvariantCulture, $"anomaly={i} member={v.Detector} score={R(v.Score)} expected={R(v.Expected)} onset={v.Onset}\n");
                }
            }
        }

        return text.ToString();
    }

    private static string R(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static IEnumerable<(string Name, double[] Values, TimeSpan Interval, CostSeriesDetector Detector)> Cases()
    {
        var hour = TimeSpan.FromHours(1);
        var fiveMinutes = TimeSpan.FromMinutes(5);
        var ensemble = new CostSeriesDetector();
        var ledger = CostSeriesDetector.ForLedger();
        (string Name, SyntheticIncident? Incident)[] hourly =
        [
            ("clean", null),
            ("spike", new SyntheticIncident(IncidentKind.Spike, 500, 502, 5)),
            ("shift", new SyntheticIncident(IncidentKind.LevelShift, 450, 720, 1.5)),
            ("runaway", new SyntheticIncident(IncidentKind.RunawayLoop, 500, 512, 5)),
            ("bloat", new SyntheticIncident(IncidentKind.PromptBloat, 300, 720, 0.05)),
            ("cache", new SyntheticIncident(IncidentKind.CacheCollapse, 480, 560, 0.05)),
        ];
        foreach (var seed in (int[])[1, 7, 23])
        {
            foreach (var (kind, incident) in hourly)
            {
                var options = new SyntheticTrafficOptions { Interval = hour, Days = 30, Seed = seed, PeakCallsPerHour = 50 + (seed * 130) };
                var series = SyntheticCostTraffic.Generate(options, incident is null ? [] : [incident]);
                yield return ($"hour/{kind}/seed{seed}/cost", series.Cost, hour, ensemble);
                if (seed == 1)
                {
                    yield return ($"hour/{kind}/seed{seed}/calls", series.Calls, hour, ensemble);
                    yield return ($"hour/{kind}/seed{seed}/cache-hit-ratio", series.CacheHitRatio, hour, ensemble);
                    yield return ($"hour/{kind}/seed{seed}/tokens-per-call", series.TokensPerCall, hour, ensemble);
                }
            }
        }

        (string Name, SyntheticIncident Incident)[] minutes =
        [
            ("spike", new SyntheticIncident(IncidentKind.Spike, 1500, 1502, 4)),
            ("shift", new SyntheticIncident(IncidentKind.LevelShift, 1400, 2016, 1.5)),
            ("runaway", new SyntheticIncident(IncidentKind.RunawayLoop, 1500, 1540, 3)),
            ("cache", new SyntheticIncident(IncidentKind.CacheCollapse, 1450, 1600, 0.05)),
        ];
        foreach (var seed in (int[])[2, 11])
        {
            foreach (var (kind, incident) in minutes)
            {
                // A sparse feature (a few calls a bucket, many empty ones) at seed 2, a busy one at seed 11.
                var options = new SyntheticTrafficOptions { Interval = fiveMinutes, Days = 7, Seed = seed, PeakCallsPerHour = seed == 2 ? 40 : 3000 };
                var series = SyntheticCostTraffic.Generate(options, [incident]);
                yield return ($"5m/{kind}/seed{seed}/cost", series.Cost, fiveMinutes, ensemble);
                yield return ($"5m/{kind}/seed{seed}/cost/ledger", series.Cost, fiveMinutes, ledger);
                yield return ($"5m/{kind}/seed{seed}/cache-hit-ratio", series.CacheHitRatio, fiveMinutes, ensemble);
            }
        }
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}

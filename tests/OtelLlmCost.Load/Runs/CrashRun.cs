using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Load.Targets;
using OtelLlmCost.Load.Traffic;
using OtelLlmCost.Load.Transport;

namespace OtelLlmCost.Load.Runs;

/// <summary>
/// crash mode: exporters send unique spans to the agent while it is killed with SIGKILL at random moments and
/// restarted on the same data directory; an exporter retries an unacknowledged request with the same ids (to the
/// restarted agent) as a real one would. After a clean stop, every GenAI span of every acknowledged request must
/// be in <c>llm_calls</c> exactly once. Exit code 0 only when nothing acknowledged is missing or duplicated.
/// </summary>
internal static class CrashRun
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<int> RunAsync(LoadOptions options)
    {
        var source = new TrafficSource(options.Batch, options.GenAiShare, options.ResponseIds);
        var dataDirectory = options.DataDirectory ?? Directory.CreateTempSubdirectory("otel-llm-cost-crash-").FullName;
        var agentDll = options.ResolveAgentDll();
        var random = new Random(options.Seed);
        Console.WriteLine($"crash test: kills={options.Kills} transport={options.Transport} concurrency={options.Concurrency} batch={source.SpansPerRequest} " +
            $"genai={source.GenAiSpansPerRequest}/request seed={options.Seed} data={dataDirectory} loadavg={ProcessStats.LoadAverage()}");

        var agent = await AgentProcess.StartAsync(agentDll, dataDirectory, StartTimeout);
        var current = agent;
        var acknowledged = new ConcurrentQueue<long>();
        var counters = new PhaseCounters();
        using var client = new ExportClient(options.Transport, TimeSpan.FromSeconds(10));
        var clock = Stopwatch.StartNew();
        var loadLimit = TimeSpan.FromSeconds(options.DurationSeconds);
        var stopIssuing = false;
        long nextSequence = 0;
        Uri Address() => options.Transport == "grpc" ? Volatile.Read(ref current).GrpcAddress : Volatile.Read(ref current).HttpAddress;

        var workers = Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(async () =>
        {
            var worker = new ExportWorker(client, source, counters, []);
            while (!Volatile.Read(ref stopIssuing) && clock.Elapsed < loadLimit)
            {
                var sequence = Interlocked.Increment(ref nextSequence);
                if (await worker.ExportAsync(sequence, Address, clock, loadLimit + DrainTimeout, CancellationToken.None))
                {
                    acknowledged.Enqueue(sequence);
                }
            }
        })).ToArray();

        var kills = 0;
        var startupKills = 0;
        var restartSeconds = new List<double>();
        try
        {
            while (kills < options.Kills && clock.Elapsed < loadLimit)
            {
                // A random moment: anywhere from mid-startup traffic to well into steady load.
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(200, 2500)));
                await Volatile.Read(ref current).KillAsync();
                kills++;
                await current.DisposeAsync();
                if (kills % 4 == 0)
                {
                    // Every fourth time, also kill an incarnation while it is still starting up.
                    await AgentProcess.KillDuringStartAsync(agentDll, dataDirectory, TimeSpan.FromMilliseconds(random.Next(100, 1200)));
                    startupKills++;
                }

                var restart = Stopwatch.StartNew();
                Volatile.Write(ref current, await AgentProcess.StartAsync(agentDll, dataDirectory, StartTimeout));
                restartSeconds.Add(restart.Elapsed.TotalSeconds);
            }

            // Some load after the last restart, then let every exporter finish its request.
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        finally
        {
            Volatile.Write(ref stopIssuing, true);
            await Task.WhenAll(workers);
        }

        var exitCode = await current.StopAsync(TimeSpan.FromSeconds(60));
        await current.DisposeAsync();
        var elapsed = clock.Elapsed.TotalSeconds;

        var expected = new HashSet<(string, string)>();
        foreach (var sequence in acknowledged)
        {
            expected.UnionWith(source.GenAiIds(sequence));
        }

        var (rows, distinct, missing, unacknowledgedStored) = Verify(LedgerStore.FilePathIn(dataDirectory), expected);
        var duplicates = rows - distinct;
        var result = new
        {
            Kills = kills,
            KillsRequested = options.Kills,
            StartupKills = startupKills,
            Seconds = Math.Round(elapsed, 1),
            RequestsAcknowledged = acknowledged.Count,
            GenAiSpansAcknowledged = expected.Count,
            Rows = rows,
            Missing = missing,
            Duplicated = duplicates,
            StoredButNotAcknowledged = unacknowledgedStored,
            counters.Refusals,
            counters.Failures,
            Abandoned = counters.Abandoned,
            RestartMedianSeconds = restartSeconds.Count == 0 ? 0 : Math.Round(restartSeconds.Order().ElementAt(restartSeconds.Count / 2), 2),
            FinalStopExitCode = exitCode,
            Seed = options.Seed,
        };
        Console.WriteLine($"kills {kills}/{options.Kills} under load (+{startupKills} during startup) in {elapsed:F0}s (median restart {result.RestartMedianSeconds}s); requests acknowledged {acknowledged.Count:N0}; " +
            $"GenAI spans acknowledged {expected.Count:N0}; llm_calls rows {rows:N0}; missing {missing}; duplicated {duplicates}; " +
            $"stored but never acknowledged {unacknowledgedStored} (allowed: committed just before a kill); refusals {counters.Refusals}, " +
            $"failed attempts {counters.Failures}, abandoned {counters.Abandoned}");
        Console.WriteLine("JSON " + JsonSerializer.Serialize(result, Json));
        var passed = missing == 0 && duplicates == 0 && kills == options.Kills && counters.Abandoned == 0 && expected.Count > 0;
        Console.WriteLine(passed ? "PASS: every acknowledged GenAI span is in the ledger exactly once" : "FAIL");
        if (passed && options.DataDirectory is null && !options.KeepData)
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
        else if (!passed)
        {
            Console.WriteLine($"data kept in {dataDirectory} (agent.log there has every incarnation's output)");
        }

        return passed ? 0 : 1;
    }

    /// <summary>Rows, distinct ids, acknowledged ids missing from the ledger, and stored ids never acknowledged.</summary>
    private static (long Rows, long Distinct, long Missing, long StoredNotAcknowledged) Verify(string ledgerFile, HashSet<(string, string)> expected)
    {
        using var database = LedgerStore.OpenReadOnly(ledgerFile);
        using var connection = database.Connect();
        long rows = 0;
        var stored = new HashSet<(string, string)>();
        using (var reader = connection.Query("SELECT lower(trace_id), lower(span_id) FROM llm_calls"))
        {
            while (reader.Read())
            {
                rows++;
                stored.Add((reader.GetString(0)!, reader.GetString(1)!));
            }
        }

        var missing = expected.Count(id => !stored.Contains(id));
        var notAcknowledged = stored.Count(id => !expected.Contains(id));
        return (rows, stored.Count, missing, notAcknowledged);
    }
}

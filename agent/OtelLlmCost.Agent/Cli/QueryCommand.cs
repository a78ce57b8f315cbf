using System.CommandLine;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost query "SQL"</c>: runs SQL on the ledger opened read-only with file access disabled, and
/// prints the result. Exit 0 on success, 1 with a one-line reason on stderr otherwise.
/// </summary>
internal static class QueryCommand
{
    public static Command Create()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var format = CommonOptions.Format();
        var sql = new Argument<string>("sql") { Description = "The SQL to run, e.g. \"SELECT model, sum(cost_usd) FROM llm_calls GROUP BY ALL\"." };
        var command = new Command("query", "Run read-only SQL on the ledger and print the result.");
        command.Options.Add(dataDirectory);
        command.Options.Add(format);
        command.Arguments.Add(sql);
        command.SetAction(parseResult => Run(
            parseResult.GetValue(dataDirectory)!,
            parseResult.GetValue(sql)!,
            parseResult.GetValue(format),
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error));
        return command;
    }

    internal static int Run(string dataDirectory, string sql, OutputFormat format, TextWriter output, TextWriter error)
    {
        var filePath = LedgerStore.FilePathIn(dataDirectory);
        try
        {
            // A query needs no ledger when it reads no table (SELECT 42); use an empty in-memory database then.
            using var database = File.Exists(filePath)
                ? LedgerStore.OpenReadOnly(filePath)
                : DuckDbDatabase.Open(":memory:", new DuckDbOpenOptions { EnableExternalAccess = false, LockConfiguration = true });
            using var connection = database.Connect();
            using var reader = connection.Query(sql);
            ResultWriter.Write(reader, format, output);
            return 0;
        }
        catch (DuckDbException exception)
        {
            error.WriteLine($"error: {OneLine(exception.Message)}{MissingLedgerHint(filePath, exception.Message)}");
            return 1;
        }
        catch (NotSupportedException exception)
        {
            error.WriteLine($"error: {OneLine(exception.Message)}");
            return 1;
        }
    }

    private static string MissingLedgerHint(string filePath, string message)
    {
        if (!File.Exists(filePath) && message.Contains("does not exist", StringComparison.Ordinal))
        {
            return $" (no ledger at {filePath}; run 'otel-llm-cost serve' or pass --data-dir)";
        }

        return message.Contains("Conflicting lock", StringComparison.Ordinal)
            ? " (a running agent holds this ledger; stop it to query the file directly)"
            : "";
    }

    private static string OneLine(string message)
    {
        var firstLine = message.Split('\n', 2)[0].Trim();
        return firstLine.Length > 0 ? firstLine : message.Trim();
    }
}

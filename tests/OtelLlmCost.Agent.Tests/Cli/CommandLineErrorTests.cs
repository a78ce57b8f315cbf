using System.Text.Json;

namespace OtelLlmCost.Agent.Tests.Cli;

/// <summary>
/// Every mistake a newcomer made on a fresh clone (issue 19) ends in one line on stderr that names the problem and the
/// fix, with exit code 1 and nothing on stdout, through the real command tree.
/// </summary>
[TestClass]
public sealed class CommandLineErrorTests
{
    [TestMethod]
    public async Task Query_MisspelledOption_NamesItAndSuggestsTheRealOne()
    {
        var (exit, output, error) = await CliRunner.RunAsync("query", "--fromat", "json", "SELECT 1");

        exit.ShouldBe(1);
        output.ShouldBeEmpty();
        OneLine(error).ShouldBe("otel-llm-cost query: unknown option '--fromat'; did you mean '--format'? see 'otel-llm-cost query --help'.");
    }

    [TestMethod]
    public async Task Query_MisspelledOptionAlone_IsNotTakenAsTheSql()
    {
        var (exit, _, error) = await CliRunner.RunAsync("query", "--limt");

        exit.ShouldBe(1);
        OneLine(error).ShouldContain("unknown option '--limt'; did you mean '--limit'?");
    }

    [TestMethod]
    public async Task Query_DoubleDash_LetsAnArgumentStartWithDashes()
    {
        using var directory = new TemporaryDirectory();
        var (_, _, error) = await CliRunner.RunAsync("query", "--data-dir", directory.Path, "--", "--comment");

        error.ShouldNotContain("unknown option");
    }

    [TestMethod]
    [DataRow("query --format yaml SELECT")]
    [DataRow("report weekly --format yaml")]
    [DataRow("prices list --format yaml")]
    public async Task Format_UnknownValue_ListsTheAllowedOnes(string commandLine)
    {
        var (exit, output, error) = await CliRunner.RunAsync(commandLine.Split(' '));

        exit.ShouldBe(1);
        output.ShouldBeEmpty();
        OneLine(error).ShouldContain("--format 'yaml' is not one of table, csv, json");
        error.ShouldNotContain("OtelLlmCost.Agent");
    }

    [TestMethod]
    public async Task Format_AnyCase_IsAccepted()
    {
        var (exit, output, error) = await CliRunner.RunAsync("prices", "list", "--provider", "openai", "--format", "JSON");

        exit.ShouldBe(0, error);
        JsonDocument.Parse(output).RootElement.GetArrayLength().ShouldBeGreaterThan(0);
    }

    [TestMethod]
    public async Task Help_ShowsAllowedValuesAndDefaultTheSameWayInEveryCommand()
    {
        var (_, query, _) = await CliRunner.RunAsync("query", "--help");
        var (_, prices, _) = await CliRunner.RunAsync("prices", "list", "--help");
        var (_, export, _) = await CliRunner.RunAsync("export", "--help");

        query.ShouldContain("--format <table|csv|json>");
        query.ShouldContain("[default: table]");
        prices.ShouldContain("--format <table|csv|json>");
        prices.ShouldContain("[default: table]");
        export.ShouldContain("--format <parquet|csv|focus>");
        export.ShouldContain("--grain <day|hour>");
    }

    [TestMethod]
    public async Task Serve_DataDirIsAFile_SaysItIsAFileNotADirectory()
    {
        using var directory = new TemporaryDirectory();
        var file = Path.Combine(directory.Path, "README.md");
        await File.WriteAllTextAsync(file, "not a directory");

        var (exit, _, error) = await CliRunner.RunAsync("serve", "--data-dir", file);

        exit.ShouldBe(1);
        OneLine(error).ShouldContain($"--data-dir '{file}' is a file, not a directory");
    }

    [TestMethod]
    public async Task Query_DataDirIsAFile_SaysItIsAFileNotADirectory()
    {
        using var directory = new TemporaryDirectory();
        var file = Path.Combine(directory.Path, "notes.txt");
        await File.WriteAllTextAsync(file, "x");

        var (exit, _, error) = await CliRunner.RunAsync("query", "--data-dir", file, "SELECT 1");

        exit.ShouldBe(1);
        OneLine(error).ShouldContain("is a file, not a directory");
    }

    [TestMethod]
    public async Task PricesList_UnknownProvider_ExitsOneSuggestingTheKnownOne()
    {
        var (exit, output, error) = await CliRunner.RunAsync("prices", "list", "--provider", "opneai");

        exit.ShouldBe(1);
        output.ShouldBeEmpty();
        OneLine(error).ShouldContain("--provider 'opneai' is not a catalog provider; did you mean 'openai'? known: ");
        error.ShouldContain("anthropic");
    }

    [TestMethod]
    public async Task PricesCost_JsonFormatUnknownModel_PrintsTheErrorAsJson()
    {
        var (exit, output, error) = await CliRunner.RunAsync("prices", "cost", "--provider", "openai", "--model", "no-such-model",
            "--input-tokens", "1", "--output-tokens", "1", "--format", "json");

        exit.ShouldBe(1);
        using var json = JsonDocument.Parse(output);
        json.RootElement.GetProperty("error").GetString()!.ShouldContain("unpriced_model 'no-such-model'");
        OneLine(error).ShouldContain("no-such-model");
    }

    [TestMethod]
    public async Task PricesCost_WithoutProvider_GuessesItFromTheModelLikeShow()
    {
        var (exit, output, error) = await CliRunner.RunAsync("prices", "cost", "--model", "gpt-4o-2024-08-06", "--input-tokens", "10000",
            "--cache-read-tokens", "4000", "--output-tokens", "500", "--at", "2026-10-01T00:00:00Z", "--format", "json");

        exit.ShouldBe(0, error);
        using var json = JsonDocument.Parse(output);
        json.RootElement.GetProperty("total_usd").GetDecimal().ShouldBe(0.025m);
        json.RootElement.GetProperty("provider").GetString().ShouldBe("openai");
    }

    [TestMethod]
    public async Task PricesImport_SourceIsTheFormatOption_FromStaysAnAlias()
    {
        var (_, help, _) = await CliRunner.RunAsync("prices", "import", "--help");
        var (exit, _, error) = await CliRunner.RunAsync("prices", "import", "--source", "litelm", "x.json", "--out", "y");

        help.ShouldContain("--source <genai-prices|litellm>");
        exit.ShouldBe(1);
        OneLine(error).ShouldContain("--source 'litelm' is not one of genai-prices, litellm (did you mean 'litellm'?)");
    }

    [TestMethod]
    public async Task Demo_UnknownProtocol_ListsTheAllowedOnes()
    {
        var (exit, _, error) = await CliRunner.RunAsync("demo", "--protocol", "grcp");

        exit.ShouldBe(1);
        OneLine(error).ShouldBe("otel-llm-cost demo: --protocol 'grcp' is not one of grpc, http (did you mean 'grpc'?); see 'otel-llm-cost demo --help'.");
    }

    [TestMethod]
    public async Task Help_WithAnotherMistakeOnTheLine_StillShowsHelp()
    {
        var (exit, output, _) = await CliRunner.RunAsync("query", "--help", "--fromat");

        exit.ShouldBe(0);
        output.ShouldContain("Usage:");
    }

    private static string OneLine(string error)
    {
        var trimmed = error.Trim();
        trimmed.ShouldNotContain('\n');
        return trimmed;
    }
}

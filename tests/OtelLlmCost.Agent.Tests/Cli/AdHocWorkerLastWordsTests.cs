using System.Text;
using OtelLlmCost.Agent.Cli;

namespace OtelLlmCost.Agent.Tests.Cli;

/// <summary>
/// What a worker's stderr says when it ends: the lines the .NET runtime and DuckDB print when an allocation fails at the
/// worker's data segment limit are read as "too much memory"; any other death is not.
/// </summary>
[TestClass]
public sealed class AdHocWorkerLastWordsTests
{
    [TestMethod]
    [DataRow("Unhandled exception. System.OutOfMemoryException: Exception of type 'System.OutOfMemoryException' was thrown.")]
    [DataRow("terminate called after throwing an instance of 'std::bad_alloc'")]
    [DataRow("Failed to create CoreCLR, HRESULT: 0x8007000E (Cannot allocate memory)")]
    // The runtime could not even allocate the text of the unhandled exception (seen in CI as the worker's only line, exit 134).
    [DataRow("Cannot print exception string because Exception.ToString() failed.")]
    public async Task LastWords_OfAnAllocationThatFailed_SayOutOfMemory(string line)
    {
        var (first, outOfMemory) = await ReadAsync(line + "\n   at somewhere\n");

        outOfMemory.ShouldBeTrue();
        first.ShouldBe(line);
    }

    [TestMethod]
    public async Task LastWords_OfAnyOtherDeath_DoNotSayOutOfMemory()
    {
        var (first, outOfMemory) = await ReadAsync("Unhandled exception. System.InvalidOperationException: no\n   at somewhere\n");

        outOfMemory.ShouldBeFalse();
        first.ShouldBe("Unhandled exception. System.InvalidOperationException: no");
    }

    private static async Task<(string First, bool OutOfMemory)> ReadAsync(string stderr)
    {
        using var reader = new StreamReader(new MemoryStream(Encoding.UTF8.GetBytes(stderr)));
        return await AdHocWorker.ReadLastWordsAsync(reader);
    }
}

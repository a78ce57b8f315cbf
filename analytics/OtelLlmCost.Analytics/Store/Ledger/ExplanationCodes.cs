using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>
/// Interns explanation texts for one writer (<see cref="LedgerRowSchema.Explanations"/>): a text seen before costs a row
/// one dictionary lookup; a new one gets an id from the <c>explanation_ids</c> sequence and is appended to
/// <c>explanations</c> in the caller's transaction, so a row never commits without its text. Ids become known (cached)
/// only after the caller reports its commit; a failed batch's ids are forgotten and its texts interned again. The cache
/// is bounded: past <see cref="Capacity"/> texts it starts over, and a text seen again gets a second id (two ids for
/// one text render the same; nothing relies on one id per text). One thread.
/// </summary>
internal sealed class ExplanationCodes
{
    public const int Capacity = 8_192;

    private readonly Dictionary<string, uint> _committed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, uint> _pending = new(StringComparer.Ordinal);
    private readonly List<uint?> _codes = [];

    /// <summary>The most recently interned texts (up to half the capacity), so a restart does not intern them again.</summary>
    public static ExplanationCodes LoadFrom(DuckDbConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var codes = new ExplanationCodes();
        using var reader = connection.Query($"""
            SELECT text, min(explanation_id) FROM {LedgerRowSchema.Explanations}
            GROUP BY text ORDER BY max(explanation_id) DESC LIMIT {Capacity / 2}
            """);
        while (reader.Read())
        {
            codes._committed[reader.GetString(0)!] = checked((uint)Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture));
        }

        return codes;
    }

    /// <summary>
    /// The code of each text (null for null), interning new texts inside the open transaction of
    /// <paramref name="connection"/>. The list is reused by the next call.
    /// </summary>
    public IReadOnlyList<uint?> Intern(DuckDbConnection connection, IReadOnlyList<string?> texts)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(texts);
        _pending.Clear();
        _codes.Clear();
        List<string>? fresh = null;
        foreach (var text in texts)
        {
            if (text is null)
            {
                _codes.Add(null);
            }
            else if (_committed.TryGetValue(text, out var code))
            {
                _codes.Add(code);
            }
            else
            {
                if (_pending.TryAdd(text, 0))
                {
                    (fresh ??= []).Add(text);
                }

                _codes.Add(null);
            }
        }

        if (fresh is null)
        {
            return _codes;
        }

        Allocate(connection, fresh);
        for (var i = 0; i < texts.Count; i++)
        {
            if (texts[i] is { } text && _codes[i] is null)
            {
                _codes[i] = _pending[text];
            }
        }

        return _codes;
    }

    /// <summary>The caller's transaction committed: the texts interned since <see cref="Intern"/> are known from now on.</summary>
    public void Committed()
    {
        if (_committed.Count + _pending.Count > Capacity)
        {
            _committed.Clear();
        }

        foreach (var (text, code) in _pending)
        {
            _committed[text] = code;
        }

        _pending.Clear();
    }

    private void Allocate(DuckDbConnection connection, List<string> fresh)
    {
        var ids = new List<uint>(fresh.Count);
        using (var next = connection.Prepare("SELECT nextval('explanation_ids') FROM range($1)"))
        {
            using var reader = next.Bind(1, (long)fresh.Count).Query();
            while (reader.Read())
            {
                ids.Add(checked((uint)reader.GetInt64(0)));
            }
        }

        using var appender = connection.CreateAppender(LedgerRowSchema.Explanations);
        for (var i = 0; i < fresh.Count; i++)
        {
            _pending[fresh[i]] = ids[i];
            appender.Append((long)ids[i]).Append(fresh[i]);
            appender.EndRow();
        }

        appender.Close();
    }
}

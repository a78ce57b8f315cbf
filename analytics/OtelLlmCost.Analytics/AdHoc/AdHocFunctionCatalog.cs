using System.Text.RegularExpressions;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.AdHoc;

/// <summary>
/// Which functions an ad-hoc query may call. Read from DuckDB's own catalog of built-in functions, so the allow-list
/// follows the library version instead of a hand-kept list of hundreds of names:
/// <list type="bullet">
/// <item>scalar functions that DuckDB declares free of side effects (stability other than <c>VOLATILE</c>), plus the
/// few volatile ones that only produce values (<see cref="HarmlessVolatile"/>);</item>
/// <item>every aggregate function;</item>
/// <item>built-in macros whose definition calls no refused function (<c>pg_sleep</c> calls <c>sleep_ms</c>);</item>
/// <item>table functions only from the short explicit list in <see cref="TableFunctions"/>: generators and catalog
/// views. Everything else (file readers, <c>query</c>, <c>enable_logging</c>, <c>checkpoint</c>, <c>duckdb_secrets</c>,
/// <c>json_execute_serialized_sql</c>, ...) is refused.</item>
/// </list>
/// </summary>
internal sealed partial class AdHocFunctionCatalog
{
    /// <summary>Volatile only because each call yields a new value; they touch no state outside the query.</summary>
    private static readonly HashSet<string> HarmlessVolatile = new(StringComparer.OrdinalIgnoreCase)
    {
        "random", "uuid", "uuidv4", "uuidv7", "gen_random_uuid", "error", "stats",
        "current_query", "current_query_id", "current_connection_id", "current_transaction_id",
    };

    /// <summary>Not volatile, yet they plan or run SQL of their own, which this sandbox never sees.</summary>
    private static readonly HashSet<string> RefusedScalars = new(StringComparer.OrdinalIgnoreCase)
    {
        "json_serialize_plan",
    };

    /// <summary>Names the binder handles itself (<c>SELECT unnest([1, 2])</c>); they are not in the function catalog.</summary>
    private static readonly HashSet<string> BinderFunctions = new(StringComparer.OrdinalIgnoreCase) { "unnest", "unlist" };

    private static readonly HashSet<string> TableFunctions = new(StringComparer.OrdinalIgnoreCase)
    {
        "range", "generate_series", "unnest", "repeat", "repeat_row", "json_each", "json_tree",
        "duckdb_columns", "duckdb_constraints", "duckdb_databases", "duckdb_dependencies", "duckdb_functions",
        "duckdb_indexes", "duckdb_keywords", "duckdb_schemas", "duckdb_sequences", "duckdb_settings", "duckdb_tables",
        "duckdb_types", "duckdb_views", "pragma_table_info", "pragma_show", "pragma_version", "pragma_database_size",
        "pragma_collations", "pg_timezone_names", "icu_calendar_names",
    };

    private static readonly Lazy<AdHocFunctionCatalog> Built = new(Build);

    private readonly HashSet<string> _scalars;

    private AdHocFunctionCatalog(HashSet<string> scalars)
    {
        _scalars = scalars;
    }

    /// <summary>The catalog of the DuckDB library in this process (built-in functions do not vary between databases).</summary>
    public static AdHocFunctionCatalog Shared => Built.Value;

    /// <summary>A scalar, aggregate or macro name usable in an expression.</summary>
    public bool AllowsScalar(string name) => _scalars.Contains(name) || BinderFunctions.Contains(name);

    public static bool AllowsTableFunction(string name) => TableFunctions.Contains(name);

    private static AdHocFunctionCatalog Build()
    {
        using var database = DuckDbDatabase.Open(":memory:", new DuckDbOpenOptions { EnableExternalAccess = false, LockConfiguration = true });
        using var connection = database.Connect();
        var allowed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var refused = new HashSet<string>(RefusedScalars, StringComparer.OrdinalIgnoreCase);
        var macros = new List<(string Name, string Definition)>();
        using (var reader = connection.Query(
            "SELECT DISTINCT function_name, function_type, coalesce(stability, ''), coalesce(macro_definition, '') FROM duckdb_functions() " +
            "WHERE internal AND function_type IN ('scalar', 'aggregate', 'macro')"))
        {
            while (reader.Read())
            {
                var name = reader.GetString(0)!;
                switch (reader.GetString(1))
                {
                    case "macro":
                        macros.Add((name, reader.GetString(3)!));
                        break;
                    case "scalar" when reader.GetString(2) == "VOLATILE" && !HarmlessVolatile.Contains(name):
                        refused.Add(name);
                        break;
                    default:
                        allowed.Add(name);
                        break;
                }
            }
        }

        foreach (var (name, definition) in macros)
        {
            if (!Identifiers().Matches(definition).Any(word => refused.Contains(word.Value)))
            {
                allowed.Add(name);
            }
        }

        allowed.ExceptWith(refused);
        return new AdHocFunctionCatalog(allowed);
    }

    [GeneratedRegex("[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex Identifiers();
}

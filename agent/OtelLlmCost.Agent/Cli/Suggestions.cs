namespace OtelLlmCost.Agent.Cli;

/// <summary>"Did you mean ...?" for mistyped option names, values and provider ids.</summary>
internal static class Suggestions
{
    /// <summary>The candidate nearest to <paramref name="typed"/> (case-insensitive edit distance), if it is close enough to be a typo.</summary>
    public static string? Closest(string typed, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = Distance(typed.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        // Two edits covers a swapped pair ("fromat") or a dropped and a doubled letter; more is a different word.
        return bestDistance <= Math.Max(1, Math.Min(2, typed.Length / 3)) ? best : null;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}

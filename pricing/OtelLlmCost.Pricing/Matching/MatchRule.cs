using System.Text.RegularExpressions;
using OtelLlmCost.Pricing.Catalog;

namespace OtelLlmCost.Pricing.Matching;

/// <summary>
/// A compiled <see cref="MatchClause"/>: case-insensitive, ordinal. Regexes are built once at load and interpreted, not
/// compiled to IL: they run only on a pair's first lookup (answers are cached), so IL compilation would only add start-up time.
/// </summary>
internal abstract class MatchRule
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(100);

    public abstract bool IsMatch(string name);

    /// <summary>True when the rule is a name or an <c>or</c> of names, so an exact dictionary answers it completely.</summary>
    public virtual bool IsExactOnly => false;

    /// <summary>Adds the names this rule accepts exactly (the <c>equals</c> leaves reachable through <c>or</c>).</summary>
    public virtual void CollectExactNames(List<string> names)
    {
    }

    public static MatchRule Compile(MatchClause clause, string where)
    {
        ArgumentNullException.ThrowIfNull(clause);
        var set = 0;
        MatchRule? rule = null;
        if (clause.EqualsTo is not null)
        {
            set++;
            rule = new EqualsRule(clause.EqualsTo);
        }

        if (clause.StartsWith is not null)
        {
            set++;
            rule = new StartsWithRule(clause.StartsWith);
        }

        if (clause.EndsWith is not null)
        {
            set++;
            rule = new EndsWithRule(clause.EndsWith);
        }

        if (clause.Contains is not null)
        {
            set++;
            rule = new ContainsRule(clause.Contains);
        }

        if (clause.Regex is not null)
        {
            set++;
            try
            {
                rule = new RegexRule(new Regex(clause.Regex,
                    RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexTimeout));
            }
            catch (ArgumentException ex)
            {
                throw new CatalogFormatException($"{where}: regex '{clause.Regex}' does not compile: {ex.Message}", ex);
            }
        }

        if (clause.Or is not null)
        {
            set++;
            rule = new OrRule(CompileAll(clause.Or, where, "or"));
        }

        if (clause.And is not null)
        {
            set++;
            rule = new AndRule(CompileAll(clause.And, where, "and"));
        }

        if (set != 1 || rule is null)
        {
            throw new CatalogFormatException(
                $"{where}: a match clause needs exactly one of equals, starts_with, ends_with, contains, regex, or, and (found {set}).");
        }

        return rule;
    }

    private static MatchRule[] CompileAll(IList<MatchClause> clauses, string where, string kind)
    {
        if (clauses.Count == 0)
        {
            throw new CatalogFormatException($"{where}: '{kind}' needs at least one clause.");
        }

        var rules = new MatchRule[clauses.Count];
        for (var i = 0; i < clauses.Count; i++)
        {
            rules[i] = Compile(clauses[i], where);
        }

        return rules;
    }

    private sealed class EqualsRule(string value) : MatchRule
    {
        public override bool IsExactOnly => true;

        public override bool IsMatch(string name) => string.Equals(name, value, StringComparison.OrdinalIgnoreCase);

        public override void CollectExactNames(List<string> names) => names.Add(value);
    }

    private sealed class StartsWithRule(string value) : MatchRule
    {
        public override bool IsMatch(string name) => name.StartsWith(value, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class EndsWithRule(string value) : MatchRule
    {
        public override bool IsMatch(string name) => name.EndsWith(value, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class ContainsRule(string value) : MatchRule
    {
        public override bool IsMatch(string name) => name.Contains(value, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class RegexRule(Regex regex) : MatchRule
    {
        public override bool IsMatch(string name)
        {
            try
            {
                return regex.IsMatch(name);
            }
            catch (RegexMatchTimeoutException)
            {
                return false;
            }
        }
    }

    private sealed class OrRule(MatchRule[] rules) : MatchRule
    {
        public override bool IsExactOnly => Array.TrueForAll(rules, r => r.IsExactOnly);

        public override bool IsMatch(string name)
        {
            foreach (var rule in rules)
            {
                if (rule.IsMatch(name))
                {
                    return true;
                }
            }

            return false;
        }

        public override void CollectExactNames(List<string> names)
        {
            foreach (var rule in rules)
            {
                rule.CollectExactNames(names);
            }
        }
    }

    private sealed class AndRule(MatchRule[] rules) : MatchRule
    {
        public override bool IsMatch(string name)
        {
            foreach (var rule in rules)
            {
                if (!rule.IsMatch(name))
                {
                    return false;
                }
            }

            return true;
        }
    }
}

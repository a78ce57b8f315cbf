using System.Security.Cryptography;
using System.Text;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// Resolves the ingest token of a request to its workload. Tokens are compared in constant time, so response
/// timing does not reveal how much of a guess was right.
/// </summary>
internal sealed class OtlpIngestTokens
{
    private readonly (byte[] Token, string Workload)[] _tokens;
    private readonly bool _bearer;

    public OtlpIngestTokens(OtlpReceiverOptions options)
    {
        _tokens = options.IngestTokens.Select(pair => (Encoding.UTF8.GetBytes(pair.Key), pair.Value)).ToArray();
        HeaderName = options.IngestTokenHeader;
        _bearer = string.Equals(HeaderName, OtlpReceiverOptions.DefaultIngestTokenHeader, StringComparison.OrdinalIgnoreCase);
    }

    public bool Required => _tokens.Length > 0;

    public string HeaderName { get; }

    /// <summary>
    /// True when the request may proceed; <paramref name="workload"/> is the token's workload, or null when no
    /// tokens are configured.
    /// </summary>
    public bool TryResolve(string? headerValue, out string? workload)
    {
        workload = null;
        if (!Required)
        {
            return true;
        }

        if (string.IsNullOrEmpty(headerValue))
        {
            return false;
        }

        var token = headerValue.AsSpan().Trim();
        if (_bearer)
        {
            if (!token.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            token = token["Bearer ".Length..].Trim();
        }

        var presented = Encoding.UTF8.GetBytes(token.ToString());
        foreach (var (candidate, candidateWorkload) in _tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, candidate))
            {
                workload = candidateWorkload;
            }
        }

        return workload is not null;
    }
}

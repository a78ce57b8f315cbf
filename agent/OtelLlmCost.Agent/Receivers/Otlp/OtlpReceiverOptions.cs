using System.Net;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// Settings of the OTLP receivers (configuration section <c>Otlp</c>). Defaults follow the collector: gRPC
/// 127.0.0.1:4317 with 4 MiB messages, HTTP 127.0.0.1:4318 with 20 MiB bodies.
/// </summary>
internal sealed class OtlpReceiverOptions
{
    public const string SectionName = "Otlp";
    public const string DefaultIngestTokenHeader = "Authorization";

    /// <summary>host:port of the gRPC (h2c) listener; port 0 picks a free port.</summary>
    public string GrpcEndpoint { get; set; } = "127.0.0.1:4317";

    /// <summary>host:port of the HTTP/1.1 listener.</summary>
    public string HttpEndpoint { get; set; } = "127.0.0.1:4318";

    /// <summary>Largest HTTP request body as sent (before decompression); larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>Largest HTTP body after gzip decompression; inflating stops and 413 is answered past it.</summary>
    public long MaxDecompressedBodyBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>Largest gRPC message, compressed or not (after decompression); larger ones get RESOURCE_EXHAUSTED.</summary>
    public int MaxGrpcMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>String attribute values are truncated to this many characters.</summary>
    public int MaxAttributeValueLength { get; set; } = 8192;

    /// <summary>
    /// Ingest tokens: token → workload name. Empty means no authentication; otherwise every export must carry
    /// a configured token and is attributed to its workload.
    /// </summary>
    public Dictionary<string, string> IngestTokens { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Header carrying the ingest token. With <c>Authorization</c> the value is <c>Bearer &lt;token&gt;</c>;
    /// any other header carries the bare token.
    /// </summary>
    public string IngestTokenHeader { get; set; } = DefaultIngestTokenHeader;

    /// <summary>Decode prompt and completion content instead of skipping it; not a setting of its own: the host copies <c>Recognizer:KeepContent</c>.</summary>
    public bool KeepContent { get; internal set; }

    public OtlpDecodeLimits DecodeLimits => new() { MaxAttributeValueLength = MaxAttributeValueLength, KeepContent = KeepContent };

    /// <summary>Throws <see cref="InvalidOperationException"/> naming every invalid setting.</summary>
    public void Validate()
    {
        var errors = new List<string>();
        CheckEndpoint(GrpcEndpoint, nameof(GrpcEndpoint), errors);
        CheckEndpoint(HttpEndpoint, nameof(HttpEndpoint), errors);
        if (MaxRequestBodyBytes <= 0)
        {
            errors.Add($"{nameof(MaxRequestBodyBytes)} must be positive");
        }

        if (MaxDecompressedBodyBytes <= 0 || MaxDecompressedBodyBytes > Array.MaxLength)
        {
            errors.Add($"{nameof(MaxDecompressedBodyBytes)} must be between 1 and {Array.MaxLength}");
        }

        if (MaxRequestBodyBytes > Array.MaxLength)
        {
            errors.Add($"{nameof(MaxRequestBodyBytes)} must be at most {Array.MaxLength}");
        }

        if (MaxGrpcMessageBytes <= 0 || MaxGrpcMessageBytes > Array.MaxLength - 5)
        {
            errors.Add($"{nameof(MaxGrpcMessageBytes)} must be between 1 and {Array.MaxLength - 5}");
        }

        if (MaxAttributeValueLength <= 0)
        {
            errors.Add($"{nameof(MaxAttributeValueLength)} must be positive");
        }

        if (string.IsNullOrWhiteSpace(IngestTokenHeader))
        {
            errors.Add($"{nameof(IngestTokenHeader)} must name a header");
        }

        foreach (var (token, workload) in IngestTokens)
        {
            if (string.IsNullOrWhiteSpace(token) || token.Trim() != token)
            {
                errors.Add("an ingest token is empty or has surrounding spaces");
            }

            if (string.IsNullOrWhiteSpace(workload))
            {
                errors.Add("every ingest token must name a workload");
            }
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Invalid {SectionName} settings: {string.Join("; ", errors)}.");
        }
    }

    public static IPEndPoint ParseEndpoint(string text) =>
        TryParseEndpoint(text, out var endpoint) ? endpoint! : throw new FormatException($"'{text}' is not host:port with an IP address, localhost or *");

    /// <summary>Parses <c>host:port</c> (an IP address, <c>[v6]:port</c>, <c>localhost</c> or <c>*</c>).</summary>
    public static bool TryParseEndpoint(string text, out IPEndPoint? endpoint)
    {
        endpoint = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            || port > IPEndPoint.MaxPort)
        {
            return false;
        }

        var host = text[..colon];
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            endpoint = new IPEndPoint(IPAddress.Loopback, port);
            return true;
        }

        if (host == "*")
        {
            endpoint = new IPEndPoint(IPAddress.Any, port);
            return true;
        }

        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            return false;
        }

        endpoint = new IPEndPoint(address, port);
        return true;
    }

    private static void CheckEndpoint(string text, string name, List<string> errors)
    {
        if (!TryParseEndpoint(text, out _))
        {
            errors.Add($"{name} '{text}' is not host:port with an IP address, localhost or *");
        }
    }
}

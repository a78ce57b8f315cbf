using OtelLlmCost.Pricing.Import;

namespace OtelLlmCost.Agent.PriceUpdates;

/// <summary>Where fresh prices come from: the public catalogs' documented JSON files, or local copies of them.</summary>
internal static class PriceSources
{
    /// <summary>pydantic/genai-prices' live v2 feed (<c>prices/new_data/v2/data.json</c>).</summary>
    public const string GenAiPricesUrl = "https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/new_data/v2/data.json";

    /// <summary>BerriAI/litellm's model price map.</summary>
    public const string LiteLlmUrl = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json";

    public static IReadOnlyList<string> Defaults { get; } = [GenAiPricesUrl, LiteLlmUrl];

    /// <summary>The most a catalog file may be (LiteLLM's is ~1.6 MB): a wrong URL must not fill memory.</summary>
    public const long MaxBytes = 64L * 1024 * 1024;

    /// <summary>Reads each source: an http(s) URL with a GET, anything else as a file. Throws <see cref="PriceSourceException"/> with the reason.</summary>
    public static async Task<IReadOnlyList<PriceUpdateSource>> ReadAsync(IReadOnlyList<string> locations, HttpClient http,
        CancellationToken cancellationToken)
    {
        var sources = new List<PriceUpdateSource>(locations.Count);
        foreach (var location in locations)
        {
            sources.Add(new PriceUpdateSource(location, await ReadOneAsync(location, http, cancellationToken)));
        }

        return sources;
    }

    /// <summary>An http(s) URL (read with a GET); anything else is a file.</summary>
    public static bool IsUrl(string location) =>
        Uri.TryCreate(location, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private static async Task<byte[]> ReadOneAsync(string location, HttpClient http, CancellationToken cancellationToken)
    {
        if (IsUrl(location))
        {
            var uri = new Uri(location);
            try
            {
                using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    throw new PriceSourceException($"GET {location} answered {(int)response.StatusCode} {response.ReasonPhrase}");
                }

                if (response.Content.Headers.ContentLength > MaxBytes)
                {
                    throw new PriceSourceException($"{location} is larger than {MaxBytes} bytes");
                }

                var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
                return bytes.LongLength <= MaxBytes ? bytes : throw new PriceSourceException($"{location} is larger than {MaxBytes} bytes");
            }
            catch (HttpRequestException exception)
            {
                throw new PriceSourceException($"GET {location} failed: {exception.Message}");
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new PriceSourceException($"GET {location} timed out");
            }
        }

        if (!File.Exists(location))
        {
            throw new PriceSourceException($"no such file: {location}");
        }

        return await File.ReadAllBytesAsync(location, cancellationToken);
    }
}

/// <summary>A price source that cannot be read (a failed download, a missing file); the message says which and why.</summary>
internal sealed class PriceSourceException(string message) : Exception(message);

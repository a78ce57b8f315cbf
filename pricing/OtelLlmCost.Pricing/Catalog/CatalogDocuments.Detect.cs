using System.Text.Json;

namespace OtelLlmCost.Pricing.Catalog;

/// <summary>The three kinds of catalog document, told apart by their required members.</summary>
internal enum CatalogDocumentKind
{
    Unknown,
    Manifest,
    Provider,
    Layer,
}

internal static class CatalogDocuments
{
    public static CatalogDocumentKind Detect(byte[] utf8, string source)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8, new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return CatalogDocumentKind.Unknown;
            }

            if (root.TryGetProperty("catalog_version", out _))
            {
                return CatalogDocumentKind.Manifest;
            }

            if (root.TryGetProperty("layer", out _))
            {
                return CatalogDocumentKind.Layer;
            }

            return root.TryGetProperty("id", out _) && root.TryGetProperty("models", out _)
                ? CatalogDocumentKind.Provider
                : CatalogDocumentKind.Unknown;
        }
        catch (JsonException ex)
        {
            throw new CatalogFormatException($"{source}: not valid JSON: {ex.Message}", ex);
        }
    }
}

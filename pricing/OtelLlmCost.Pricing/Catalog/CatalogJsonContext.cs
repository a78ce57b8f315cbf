using System.Text.Json.Serialization;

namespace OtelLlmCost.Pricing.Catalog;

/// <summary>Source-generated serialization metadata: loading the shipped catalog without reflection warm-up.</summary>
[JsonSerializable(typeof(CatalogManifest))]
[JsonSerializable(typeof(ProviderDefinition))]
[JsonSerializable(typeof(CatalogLayer))]
[JsonSerializable(typeof(PriceRowDefinition))]
internal sealed partial class CatalogJsonContext : JsonSerializerContext
{
}

using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>Configuration of <see cref="LlmCallRecognizer"/>.</summary>
public sealed class RecognizerOptions
{
    public AttributionRules Attribution { get; set; } = new();

    /// <summary>
    /// When true, content-bearing attributes (prompts, completions, tool arguments; see
    /// <see cref="ContentAttributes"/>) that are scalar are copied to <c>LlmCall.Tags</c> under their own key.
    /// Off by default: content never reaches the store unless a user opts in (DESIGN §3).
    /// </summary>
    public bool KeepContent { get; set; }

    public void Validate()
    {
        if (Attribution is null)
        {
            throw new InvalidOperationException("RecognizerOptions.Attribution must not be null.");
        }

        Attribution.Validate();
    }
}

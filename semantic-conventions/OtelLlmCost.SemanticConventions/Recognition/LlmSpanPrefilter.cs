namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// The decoder's cheap first question, asked on raw UTF-8 attribute keys before anything is materialized:
/// could this span be an LLM call (or a wrapper around one) in any supported dialect? A false positive only
/// costs a materialization; a false negative loses a call, so the key families are broad.
/// </summary>
public static class LlmSpanPrefilter
{
    private static readonly byte[][] CandidateKeyPrefixes =
    [
        "gen_ai."u8.ToArray(),
        "llm."u8.ToArray(),
        "ai."u8.ToArray(),
        "openinference."u8.ToArray(),
        "traceloop."u8.ToArray(),
        "langfuse."u8.ToArray(),
        "embedding."u8.ToArray(),

        // Vercel AI SDK attributes as renamed by Sentry's span processor.
        "vercel.ai."u8.ToArray(),
    ];

    public static bool IsCandidateKey(ReadOnlySpan<byte> utf8Key)
    {
        foreach (var prefix in CandidateKeyPrefixes)
        {
            if (utf8Key.StartsWith(prefix))
            {
                return true;
            }
        }

        return false;
    }

    public static bool IsCandidateKey(string key)
    {
        foreach (var prefix in CandidateKeyPrefixes)
        {
            if (key.Length >= prefix.Length && AsciiStartsWith(key, prefix))
            {
                return true;
            }
        }

        return false;
    }

    private static bool AsciiStartsWith(string key, byte[] prefix)
    {
        for (var i = 0; i < prefix.Length; i++)
        {
            if (key[i] != prefix[i])
            {
                return false;
            }
        }

        return true;
    }
}

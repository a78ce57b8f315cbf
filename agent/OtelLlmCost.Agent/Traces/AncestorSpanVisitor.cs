using System.Text;
using OtelLlmCost.Agent.Receivers.Otlp;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// The trace-aware stage's reader of every request (registered at composition, <see cref="ISpanVisitor"/>): each
/// valid span that is not an LLM candidate becomes an <see cref="AncestorRecord"/> (ids, parent and only the values of
/// the watched keys, read from the raw slices the decoder found), without materializing the span. With
/// <see cref="AncestorKeys.FromResources"/>, the resource's watched values fill the slots a span leaves empty.
/// </summary>
internal sealed class AncestorSpanVisitor(AncestorKeys keys) : ISpanVisitor
{
    public AncestorKeys Keys { get; } = keys;

    public ISpanVisit Begin() => new RequestVisit(Keys);

    private sealed class RequestVisit(AncestorKeys keys) : ISpanVisit
    {
        private readonly List<AncestorRecord> _records = [];
        private string?[]? _resourceValues;
        private int _resourceGroup = -1;

        void ISpanVisit.Visit(scoped in WireSpan span)
        {
            if (span.IsLlmCandidate)
            {
                return; // materialized by the receivers; the stage indexes those that are not calls itself
            }

            scoped WatchedValues watched = default;
            foreach (var attribute in span.Attributes)
            {
                if (keys.TryMatch(attribute.Key, out var slot, out var rank))
                {
                    watched.Keep(slot, rank, attribute.Value);
                }
            }

            string?[]? values = null;
            string? outcome = null;
            if (watched.Any)
            {
                values = new string?[AncestorKeys.SlotCount];
                for (var slot = 0; slot < AncestorKeys.SlotCount; slot++)
                {
                    values[slot] = watched.Text(slot, span.Values);
                }

                if (values[AncestorKeys.OutcomeSlot] is { } marker)
                {
                    outcome = keys.OutcomeFromAttribute(marker);
                }
            }

            if (keys.FromResources && ResourceValues(in span) is { } fromResource)
            {
                // The span's own values outrank its resource's; an outcome marker belongs to spans only.
                values ??= new string?[AncestorKeys.SlotCount];
                for (var slot = 0; slot < AncestorKeys.OutcomeSlot; slot++)
                {
                    if (!watched.Has(slot))
                    {
                        values[slot] = fromResource[slot];
                    }
                }
            }

            var parent = SpanKey.ParentFromBytes(span.ParentSpanId);
            if (outcome is null && keys.IsOutcomeSpanName(span.Name))
            {
                outcome = keys.OutcomeSpanName;
            }

            // Only watched values become strings, and the name only for a root (the trace's root operation).
            var name = parent == 0 && !span.Name.IsEmpty ? Encoding.UTF8.GetString(span.Name) : null;
            _records.Add(new AncestorRecord(SpanKey.FromBytes(span.TraceId, span.SpanId), parent, values, name, false, outcome));
        }

        public object? Complete() => _records;

        /// <summary>The resource's watched values (the outcome marker aside), read once per resource group; null when it has none.</summary>
        private string?[]? ResourceValues(scoped in WireSpan span)
        {
            if (span.ResourceGroup == _resourceGroup)
            {
                return _resourceValues;
            }

            _resourceGroup = span.ResourceGroup;
            _resourceValues = keys.ValuesOf(span.Values.ReadAttributeList(span.Resource, Otlp.Wire.OtlpFieldNumbers.Resource.Attributes));
            return _resourceValues;
        }
    }

    /// <summary>
    /// The watched values of one span, kept as wire slices (one per slot, the best-ranked key winning) until the
    /// span is known not to be a candidate; only then are they read as text.
    /// </summary>
    private ref struct WatchedValues
    {
        private ReadOnlySpan<byte> _environment, _team, _feature, _user, _tenant, _workload, _conversation, _agent, _outcome;
        private ulong _ranks; // 7 bits per slot: the kept key's rank plus one (0: nothing kept)
        private int _present;

        public readonly bool Any => _present != 0;

        public readonly bool Has(int slot) => (_present & (1 << slot)) != 0;

        public void Keep(int slot, int rank, ReadOnlySpan<byte> value)
        {
            var shift = slot * 7;
            var kept = (int)((_ranks >> shift) & 0x7F);
            var stored = Math.Min(rank + 1, 0x7F);
            if (kept != 0 && stored >= kept)
            {
                return;
            }

            _ranks = (_ranks & ~(0x7FUL << shift)) | ((ulong)stored << shift);
            _present |= 1 << slot;
            switch (slot)
            {
                case 0: _environment = value; break;
                case 1: _team = value; break;
                case 2: _feature = value; break;
                case 3: _user = value; break;
                case 4: _tenant = value; break;
                case 5: _workload = value; break;
                case 6: _conversation = value; break;
                case 7: _agent = value; break;
                default: _outcome = value; break;
            }
        }

        public readonly string? Text(int slot, OtlpValueReader values) =>
            (_present & (1 << slot)) == 0 ? null : values.ScalarText(Value(slot));

        private readonly ReadOnlySpan<byte> Value(int slot) => slot switch
        {
            0 => _environment,
            1 => _team,
            2 => _feature,
            3 => _user,
            4 => _tenant,
            5 => _workload,
            6 => _conversation,
            7 => _agent,
            _ => _outcome,
        };
    }
}

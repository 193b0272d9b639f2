using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace FsdNet.Data;

/// <summary>
/// Loads a YAML document the way PyYAML (FuxiCTR's loader) treats repeated keys: when a mapping holds a key twice, the
/// last value wins (at the first key's place) and a warning names both lines. YamlDotNet alone refuses such files.
/// Node positions (<see cref="YamlNode.Start"/>) are those of the text, so errors can still name lines.
/// </summary>
internal static class YamlLoader
{
    /// <summary>The first document's root node (null for an empty text). Throws <see cref="YamlException"/> on bad YAML.</summary>
    public static YamlNode? Load(string yaml, string source, ICollection<string> warnings)
    {
        var events = new List<ParsingEvent>();
        var parser = new Parser(new StringReader(yaml));
        while (parser.MoveNext())
        {
            events.Add(parser.Current!);
        }
        var output = new List<ParsingEvent>(events.Count);
        var i = 0;
        while (i < events.Count)
        {
            if (events[i] is MappingStart or SequenceStart or Scalar or AnchorAlias)
            {
                output.AddRange(Node(events, ref i, source, warnings));
            }
            else
            {
                output.Add(events[i++]);
            }
        }
        var stream = new YamlStream();
        stream.Load(new EventReplay(output));
        return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
    }

    /// <summary>The events of the node starting at <paramref name="i"/> with repeated mapping keys resolved.</summary>
    private static List<ParsingEvent> Node(List<ParsingEvent> events, ref int i, string source, ICollection<string> warnings)
    {
        var start = events[i];
        switch (start)
        {
            case MappingStart:
            {
                i++;
                var pairs = new List<(List<ParsingEvent> Key, List<ParsingEvent> Value)>();
                var byKey = new Dictionary<string, int>(StringComparer.Ordinal);
                while (events[i] is not MappingEnd)
                {
                    var key = Node(events, ref i, source, warnings);
                    var value = Node(events, ref i, source, warnings);
                    if (key is [Scalar k] && byKey.TryGetValue(k.Value, out var at))
                    {
                        var first = (Scalar)pairs[at].Key[0];
                        warnings.Add($"{source}:{k.Start.Line}: duplicate key '{k.Value}' (first on line {first.Start.Line}); " +
                                     $"the value on line {k.Start.Line} is used, as PyYAML does");
                        pairs[at] = (pairs[at].Key, value);
                        continue;
                    }
                    if (key is [Scalar s])
                    {
                        byKey[s.Value] = pairs.Count;
                    }
                    pairs.Add((key, value));
                }
                var result = new List<ParsingEvent> { start };
                foreach (var (key, value) in pairs)
                {
                    result.AddRange(key);
                    result.AddRange(value);
                }
                result.Add(events[i++]);
                return result;
            }
            case SequenceStart:
            {
                i++;
                var result = new List<ParsingEvent> { start };
                while (events[i] is not SequenceEnd)
                {
                    result.AddRange(Node(events, ref i, source, warnings));
                }
                result.Add(events[i++]);
                return result;
            }
            default:
                i++;
                return [start];
        }
    }

    /// <summary>Feeds a list of events to YamlDotNet's representation model.</summary>
    private sealed class EventReplay(List<ParsingEvent> events) : IParser
    {
        private int index = -1;

        public ParsingEvent? Current => index >= 0 && index < events.Count ? events[index] : null;

        public bool MoveNext() => ++index < events.Count;
    }
}

using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using FsdNet.Data;

namespace FsdNet.Serving.Onnx;

/// <summary>
/// The encoder JSON written beside an exported ONNX model (schema in docs/ONNX.md): for each input column of the
/// graph, which raw column it reads and how a raw value becomes the number in that column, so that a client without
/// .NET turns a raw row into the graph's inputs exactly as FsdNet's <see cref="FeatureMap.EncodeRow(Func{string, string?}, Span{int}, Span{float}, Span{int}, out long)"/> does.
/// </summary>
internal static class OnnxEncoder
{
    public const string Format = "fsdnet-onnx-encoder";

    public const int FormatVersion = 1;

    public static string ToJson(ModelBundle bundle, string onnxFile, int? head, string scores)
    {
        var map = bundle.FeatureMap;
        var schema = bundle.Model.Schema;
        var used = schema.Fields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("format_version", FormatVersion);
            w.WriteString("onnx_file", onnxFile);
            w.WriteString("model", bundle.Model.ModelName);
            w.WriteString("expid", bundle.Config.ExpId);
            w.WriteString("dataset_id", map.DatasetId);
            w.WriteString("label", map.LabelName);
            w.WriteString("schema_hash", map.SchemaHash);
            if (head is { } h)
            {
                w.WriteNumber("head", h);
            }
            else
            {
                w.WriteNull("head");
            }
            w.WriteString("scores", scores);
            w.WriteBoolean("pre_encoded", map.FuxiEncoded);

            w.WriteStartArray("inputs");
            if (schema.CategoricalCount > 0)
            {
                Input(w, OnnxExporter.CategoricalInput, "int64", schema.CategoricalCount);
            }
            if (schema.NumericCount > 0)
            {
                Input(w, OnnxExporter.NumericInput, "float32", schema.NumericCount);
            }
            if (schema.SequenceWidth > 0)
            {
                Input(w, OnnxExporter.SequenceInput, "int64", schema.SequenceWidth);
            }
            if (schema.EmbeddingWidth > 0)
            {
                Input(w, OnnxExporter.EmbeddingInput, "float32", schema.EmbeddingWidth);
            }
            w.WriteEndArray();
            w.WriteStartObject("output");
            w.WriteString("name", OnnxExporter.Output);
            w.WriteString("dtype", "float32");
            w.WriteStartArray("shape");
            w.WriteStringValue("N");
            w.WriteNumberValue(1);
            w.WriteEndArray();
            w.WriteEndObject();

            w.WriteStartArray("categorical");
            foreach (var f in map.Categorical)
            {
                WriteColumnHead(w, f, used);
                var codec = f.Codec;
                w.WriteString("dtype", codec.NumberKeyed && f.Dtype == "str" ? "float" : f.Dtype);
                w.WriteString("match", codec.NumberKeyed ? "number" : "string");
                w.WriteString("missing", codec.NumberKeyed ? FeatureCodec.NumberText(codec.FillNumber) : codec.NaToken);
                w.WriteBoolean("convert_to_bucket", codec.Bucket);
                WriteVocab(w, f, map.FuxiEncoded);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("numeric");
            foreach (var f in map.Numeric)
            {
                WriteColumnHead(w, f, used);
                var codec = f.Codec;
                w.WriteString("missing", FeatureCodec.NumberText(codec.FillNumber));
                if (EncodingNames.Name(codec.Scaler) is not { } scaler)
                {
                    w.WriteNull("normalizer");
                }
                else
                {
                    // value' = (value - shift) / scale, the divisor 1 where the fitted spread is 0 (the codec's rule).
                    w.WriteStartObject("normalizer");
                    w.WriteString("type", scaler);
                    w.WriteNumber("shift", codec.Shift);
                    w.WriteNumber("scale", codec.Scale);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("sequence");
            foreach (var f in map.Sequence)
            {
                // Columns [offset, offset + max_len) of the sequence input.
                WriteColumnHead(w, f, used, f.SequenceOffset);
                var codec = f.Codec;
                w.WriteNumber("max_len", codec.MaxLen);
                w.WriteString("splitter", codec.Splitter);
                w.WriteString("padding", EncodingNames.Name(codec.Padding));
                w.WriteString("padding_token", codec.NaToken);
                WriteVocab(w, f, map.FuxiEncoded);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("embedding");
            foreach (var f in map.Embedding)
            {
                // Columns [offset, offset + width) of the embedding input.
                WriteColumnHead(w, f, used, f.EmbeddingOffset);
                w.WriteNumber("width", f.EmbeddingWidth);
                w.WriteString("splitter", f.Codec.Splitter);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            var ignored = map.Features.Where(f => f.Type == FeatureType.Meta).ToList();
            w.WriteStartArray("ignored_features");
            foreach (var f in ignored)
            {
                w.WriteStringValue(f.Name);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Input(Utf8JsonWriter w, string name, string dtype, int width)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("dtype", dtype);
        w.WriteStartArray("shape");
        w.WriteStringValue("N");
        w.WriteNumberValue(width);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>padding_idx, oov_idx, vocab_size and the vocabulary (token -> code; null for FuxiCTR-encoded data).</summary>
    private static void WriteVocab(Utf8JsonWriter w, FeatureInfo f, bool fuxiEncoded)
    {
        w.WriteNumber("padding_idx", f.PaddingIdx);
        w.WriteNumber("oov_idx", f.OovIdx);
        w.WriteNumber("vocab_size", f.VocabSize);
        if (f.HashBuckets is { } buckets)
        {
            // No vocabulary: code = 1 + FNV-1a 64 (UTF-8 bytes of a string token, or the 8 little-endian bytes of a number
            // token's double) mod hash_buckets; the padding token of a string feature is oov_idx (docs/ONNX.md).
            w.WriteNumber("hash_buckets", buckets);
            if (f.Type == FeatureType.Categorical)
            {
                // The one token that is oov_idx rather than a bucket: the fill_na token (a number feature's only when fill_na is given).
                var codec = f.Codec;
                if (!codec.NumberKeyed)
                {
                    w.WriteString("oov_token", codec.NaToken);
                }
                else if (f.FillNa is not null)
                {
                    w.WriteString("oov_token", FeatureCodec.NumberText(codec.FillNumber));
                }
                else
                {
                    w.WriteNull("oov_token");
                }
            }
            w.WriteNull("vocab");
            return;
        }
        w.WriteNull("hash_buckets");
        if (fuxiEncoded)
        {
            w.WriteNull("vocab");
            return;
        }
        w.WriteStartObject("vocab");
        for (var i = 0; i < f.Vocab.Count; i++)
        {
            w.WriteNumber(f.Vocab[i], i + 1);
        }
        w.WriteEndObject();
    }

    /// <summary>Opens an input column's object with what every column says: its place, feature, raw column and use.</summary>
    private static void WriteColumnHead(Utf8JsonWriter w, FeatureInfo f, HashSet<string> used, int? column = null)
    {
        w.WriteStartObject();
        w.WriteNumber("column", column ?? f.TypeIndex);
        w.WriteString("feature", f.Name);
        w.WriteString("source_column", f.SourceName);
        w.WriteBoolean("used_by_model", used.Contains(f.Name));
    }
}

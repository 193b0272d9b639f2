using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using FsdNet.Tensors;

namespace FsdNet.Serving;

/// <summary>A saved file that is truncated, corrupt or of another format; the message names the file.</summary>
public sealed class ModelFileException(string message) : Exception(message);

/// <summary>
/// FsdNet's binary container for named float32 tensors plus JSON metadata: models and checkpoints.
/// Layout (little-endian): magic "FSDNETT1", int32 format version, int32 + UTF-8 JSON metadata, int32 tensor count,
/// then per tensor int32 + UTF-8 name, int32 rank, int32 dims, float32 values; last, the SHA-256 of everything
/// before it. Files are written to a temporary name, flushed to disk and renamed, so a crash never leaves a
/// half-written file under the real name; reading verifies the checksum before anything else.
/// </summary>
internal static class TensorFile
{
    public const int FormatVersion = 1;
    private static readonly byte[] Magic = "FSDNETT1"u8.ToArray();

    public static void Write(string path, string metadataJson, IEnumerable<(string Name, Tensor Value)> tensors)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = $"{full}.tmp-{Environment.ProcessId}";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                void Put(ReadOnlySpan<byte> bytes)
                {
                    fs.Write(bytes);
                    sha.AppendData(bytes);
                }
                void PutInt(int v)
                {
                    Span<byte> b = stackalloc byte[4];
                    BinaryPrimitives.WriteInt32LittleEndian(b, v);
                    Put(b);
                }
                void PutString(string s)
                {
                    var bytes = Encoding.UTF8.GetBytes(s);
                    PutInt(bytes.Length);
                    Put(bytes);
                }
                Put(Magic);
                PutInt(FormatVersion);
                PutString(metadataJson);
                var list = tensors.ToList();
                PutInt(list.Count);
                foreach (var (name, t) in list)
                {
                    PutString(name);
                    PutInt(t.Shape.Rank);
                    for (var a = 0; a < t.Shape.Rank; a++)
                    {
                        PutInt(t.Shape[a]);
                    }
                    if (!BitConverter.IsLittleEndian)
                    {
                        throw new PlatformNotSupportedException("Model files are little-endian.");
                    }
                    Put(MemoryMarshal.AsBytes(t.Span));
                }
                fs.Write(sha.GetHashAndReset());
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
            {
                File.Delete(tmp);
            }
        }
    }

    /// <summary>Reads a file written by <see cref="Write"/>, verifying its checksum and structure.</summary>
    public static (string Metadata, IReadOnlyList<(string Name, Tensor Value)> Tensors) Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException($"{path}: cannot read: {e.Message}");
        }
        if (bytes.Length < Magic.Length + 32 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new ModelFileException($"{path}: not an FsdNet model/checkpoint file (bad magic or too short: {bytes.Length} bytes).");
        }
        var body = new ReadOnlyMemory<byte>(bytes, 0, bytes.Length - 32);
        if (!SHA256.HashData(body.Span).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
        {
            throw new ModelFileException($"{path}: checksum mismatch: the file is truncated or corrupt.");
        }
        var pos = Magic.Length;
        int Int()
        {
            if (pos + 4 > body.Length)
            {
                throw new ModelFileException($"{path}: truncated at byte {pos}.");
            }
            var v = BinaryPrimitives.ReadInt32LittleEndian(body.Span.Slice(pos, 4));
            pos += 4;
            return v;
        }
        string Str(string what)
        {
            var n = Int();
            if (n < 0 || pos + n > body.Length)
            {
                throw new ModelFileException($"{path}: bad {what} length {n} at byte {pos}.");
            }
            var s = Encoding.UTF8.GetString(body.Span.Slice(pos, n));
            pos += n;
            return s;
        }
        var version = Int();
        if (version != FormatVersion)
        {
            throw new ModelFileException($"{path}: format version {version}; this FsdNet reads version {FormatVersion}.");
        }
        var meta = Str("metadata");
        var count = Int();
        if (count < 0)
        {
            throw new ModelFileException($"{path}: bad tensor count {count}.");
        }
        var list = new List<(string, Tensor)>(Math.Min(count, 1 << 16));
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var name = Str("tensor name");
            var rank = Int();
            if (rank is < 1 or > 3)
            {
                throw new ModelFileException($"{path}: tensor '{name}' has rank {rank}.");
            }
            var dims = new int[rank];
            long elements = 1;
            for (var a = 0; a < rank; a++)
            {
                dims[a] = Int();
                if (dims[a] < 0)
                {
                    throw new ModelFileException($"{path}: tensor '{name}' has a negative dimension ({dims[a]}).");
                }
                elements *= dims[a];
                if (elements > int.MaxValue / 4)
                {
                    throw new ModelFileException($"{path}: tensor '{name}' is too large ({string.Join(" x ", dims[..(a + 1)])} values).");
                }
            }
            if (!names.Add(name))
            {
                throw new ModelFileException($"{path}: tensor '{name}' appears twice.");
            }
            var shape = rank switch
            {
                1 => new Shape(dims[0]),
                2 => new Shape(dims[0], dims[1]),
                _ => new Shape(dims[0], dims[1], dims[2]),
            };
            var byteCount = (long)shape.Length * 4;
            if (pos + byteCount > body.Length)
            {
                throw new ModelFileException($"{path}: tensor '{name}' {shape} runs past the end of the file.");
            }
            var t = new Tensor(shape) { Name = name };
            MemoryMarshal.Cast<byte, float>(body.Span.Slice(pos, (int)byteCount)).CopyTo(t.Span);
            pos += (int)byteCount;
            list.Add((name, t));
        }
        if (pos != body.Length)
        {
            throw new ModelFileException($"{path}: {body.Length - pos} unexpected bytes after the last tensor.");
        }
        return (meta, list);
    }

    /// <summary>
    /// Only the metadata JSON of a file written by <see cref="Write"/>, read from its header without reading (or
    /// verifying) the tensors: for optional information such as a checkpoint's training history.
    /// </summary>
    public static string ReadMetadata(string path)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            Span<byte> head = stackalloc byte[16];
            if (fs.ReadAtLeast(head, 16, throwOnEndOfStream: false) < 16 || !head[..Magic.Length].SequenceEqual(Magic))
            {
                throw new ModelFileException($"{path}: not an FsdNet model/checkpoint file (bad magic or too short).");
            }
            var version = BinaryPrimitives.ReadInt32LittleEndian(head.Slice(8, 4));
            var n = BinaryPrimitives.ReadInt32LittleEndian(head.Slice(12, 4));
            if (version != FormatVersion || n < 0 || n > fs.Length - 16)
            {
                throw new ModelFileException($"{path}: bad header (format version {version}, metadata length {n}).");
            }
            var bytes = new byte[n];
            fs.ReadExactly(bytes);
            return Encoding.UTF8.GetString(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException($"{path}: cannot read: {e.Message}");
        }
    }

    /// <summary>Copies saved tensors into live ones by name, checking that every name and shape matches.</summary>
    public static void LoadInto(string path, IReadOnlyList<(string Name, Tensor Value)> saved, IEnumerable<(string Name, Tensor Value)> targets)
    {
        var byName = saved.ToDictionary(s => s.Name, s => s.Value, StringComparer.Ordinal);
        var seen = 0;
        foreach (var (name, target) in targets)
        {
            if (!byName.TryGetValue(name, out var src))
            {
                throw new ModelFileException($"{path}: no tensor '{name}' (the file was saved from a different model or configuration).");
            }
            if (src.Shape != target.Shape)
            {
                throw new ModelFileException($"{path}: tensor '{name}' has shape {src.Shape}, the model expects {target.Shape}.");
            }
            src.Span.CopyTo(target.Span);
            seen++;
        }
        if (seen != byName.Count)
        {
            throw new ModelFileException($"{path}: holds {byName.Count} tensors, the model has {seen}.");
        }
    }
}

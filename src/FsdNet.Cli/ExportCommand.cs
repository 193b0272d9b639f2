using System.CommandLine;
using FsdNet.Serving;
using FsdNet.Serving.Onnx;

namespace FsdNet.Cli;

/// <summary><c>fsdnet export</c>: a trained run as a single-file bundle (.fsdb) or as ONNX plus encoder JSON.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Run directory written by `fsdnet train` (or a bundle, for --format onnx).", Required = true };
        var format = new Option<string>("--format") { Description = "bundle (one .fsdb file for `fsdnet serve` and the Scorer API) or onnx (model.onnx plus its encoder JSON).", Required = true };
        var output = new Option<string>("--output") { Description = "File to write (e.g. model.fsdb or model.onnx).", Required = true };
        var head = new Option<int?>("--head") { Description = "onnx only: score with this FSD head (0-based) instead of the mean of all heads." };
        var cmd = new Command("export", "Export a trained model for serving: a single-file bundle or ONNX.") { model, format, output, head };
        cmd.SetAction(r => CliSupport.Guard(() =>
        {
            var f = r.GetValue(format)!.Trim().ToLowerInvariant();
            var summary = f switch
            {
                "bundle" when r.GetValue(head) is not null => throw new ArgumentException("--head applies to --format onnx; a bundle keeps every head (choose one when scoring)."),
                "bundle" => BundleFile.Export(r.GetValue(model)!, r.GetValue(output)!),
                "onnx" => OnnxExporter.Export(r.GetValue(model)!, r.GetValue(output)!, r.GetValue(head)),
                _ => throw new ArgumentException($"--format must be bundle or onnx, got '{r.GetValue(format)}'."),
            };
            Console.Error.WriteLine(summary);
            return 0;
        }));
        return cmd;
    }
}

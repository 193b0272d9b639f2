using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>Builds a model from its FuxiCTR-style config (the <c>model</c> key names the class).</summary>
public static class ModelRegistry
{
    private delegate CtrModel Factory(InputSchema schema, ModelConfig cfg, Rng rng, bool loadPretrained);

    /// <summary>A registered model: the class it builds (which says whether it takes the FSD module) and how.</summary>
    private sealed record Entry(Type Type, Factory Make);

    private static Entry Of<T>(Factory make)
        where T : CtrModel => new(typeof(T), make);

    private static readonly Dictionary<string, Entry> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["FSDNet"] = Of<FsdNetModel>((schema, cfg, rng, load) => new FsdNetModel(schema, FsdNetOptions.From(cfg), rng, load)),
        ["DCNv2"] = Of<Dcnv2Model>((schema, cfg, rng, load) => new Dcnv2Model(schema, Dcnv2Options.From(cfg), rng, load)),
        ["DCN"] = Of<DcnModel>((schema, cfg, rng, load) => new DcnModel(schema, DcnOptions.From(cfg), rng, load)),
        ["LR"] = Of<LrModel>((schema, cfg, rng, load) => new LrModel(schema, rng)),
        ["FM"] = Of<FmModel>((schema, cfg, rng, load) => new FmModel(schema, FmModel.EmbeddingDimFrom(cfg), rng, load)),
        ["DNN"] = Of<DnnModel>((schema, cfg, rng, load) => new DnnModel(schema, DnnOptions.From(cfg), rng, load)),
        ["WideDeep"] = Of<WideDeepModel>((schema, cfg, rng, load) => new WideDeepModel(schema, DnnOptions.From(cfg), rng, load)),
        ["DeepFM"] = Of<DeepFmModel>((schema, cfg, rng, load) => new DeepFmModel(schema, DnnOptions.From(cfg), rng, load)),
        ["PNN"] = Of<PnnModel>((schema, cfg, rng, load) => new PnnModel(schema, PnnModel.OptionsFrom(cfg), rng, load)),
        ["FiBiNET"] = Of<FibinetModel>((schema, cfg, rng, load) => new FibinetModel(schema, FibinetOptions.From(cfg), rng, load)),
        ["AFN"] = Of<AfnModel>((schema, cfg, rng, load) => new AfnModel(schema, AfnOptions.From(cfg), rng, load)),
        ["xDeepFM"] = Of<XDeepFmModel>((schema, cfg, rng, load) => new XDeepFmModel(schema, XDeepFmOptions.From(cfg), rng, load)),
        ["AutoInt"] = Of<AutoIntModel>((schema, cfg, rng, load) => new AutoIntModel(schema, AutoIntOptions.From(cfg), rng, load)),
        ["MaskNet"] = Of<MaskNetModel>((schema, cfg, rng, load) => new MaskNetModel(schema, MaskNetOptions.From(cfg), rng, load)),
        ["FinalMLP"] = Of<FinalMlpModel>((schema, cfg, rng, load) => new FinalMlpModel(schema, FinalMlpOptions.From(cfg), rng, load)),
        ["GDCN"] = Of<GdcnModel>((schema, cfg, rng, load) => new GdcnModel(schema, DcnOptions.From(cfg), rng, load)),
        ["GDCNP"] = Of<GdcnpModel>((schema, cfg, rng, load) => new GdcnpModel(schema, DcnOptions.From(cfg), rng, load)),
        ["EDCN"] = Of<EdcnModel>((schema, cfg, rng, load) => new EdcnModel(schema, EdcnOptions.From(cfg), rng, load)),
    };

    public static IReadOnlyList<string> Names => [.. Factories.Keys];

    /// <summary>Models with two parallel layer-wise towers, which take the FSD module (<c>fsd: true</c>).</summary>
    public static IReadOnlyList<string> FsdCapable { get; } =
        [.. Factories.Where(e => e.Value.Type.IsAssignableTo(typeof(FsdCapableModel))).Select(e => e.Key)];

    /// <summary>
    /// The model <c>cfg.Model</c> over <paramref name="schema"/>; <paramref name="loadPretrained"/> false skips reading
    /// pretrained tables (their values come from a saved model).
    /// </summary>
    internal static CtrModel Create(InputSchema schema, ModelConfig cfg, Rng rng, bool loadPretrained = true)
    {
        if (!Factories.TryGetValue(cfg.Model, out var make))
        {
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: unknown model '{cfg.Model}'; known: {string.Join(", ", Factories.Keys)}.");
        }
        if (!FsdCapable.Contains(cfg.Model, StringComparer.OrdinalIgnoreCase) && cfg.GetBool("fsd", false))
        {
            throw new ConfigException(
                $"{cfg.Origin("fsd")}: fsd: true needs a model with two parallel towers that expose every layer ({string.Join(", ", FsdCapable)}); {cfg.Model} has none.");
        }
        try
        {
            return make.Make(schema, cfg, rng, loadPretrained);
        }
        catch (ArgumentException e)
        {
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: {e.Message}");
        }
        catch (OutOfMemoryException)
        {
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: not enough memory to build {cfg.Model} (embedding_dim {cfg.GetString("embedding_dim")}, hidden units?); make the model smaller.");
        }
    }
}

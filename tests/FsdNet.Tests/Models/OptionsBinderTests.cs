using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>The one way every model reads its keys: defaults kept, each type parsed, bounds and bad names refused with the key's file and line.</summary>
public sealed class OptionsBinderTests
{
    internal sealed record Probe
    {
        [ConfigKey("width", Min = 1)]
        public int Width { get; init; } = 7;

        [ConfigKey("ratio", Min = 0, MinExclusive = true)]
        public double Ratio { get; init; } = 2.5;

        [ConfigKey("dropout", Min = 0)]
        public float Dropout { get; init; } = 0.25f;

        [ConfigKey("norm")]
        public bool Norm { get; init; } = true;

        [ConfigKey("units")]
        public IReadOnlyList<int> Units { get; init; } = [3, 2];

        [ConfigKey("act")]
        public Activation Act { get; init; } = Activation.Tanh;

        [ConfigKey("pairs")]
        public BilinearType Pairs { get; init; } = BilinearType.FieldEach;

        [ConfigKey("fsd")]
        public FsdOptions? Fsd { get; init; }

        public int Unbound { get; init; } = 11;
    }

    private static ModelConfig Config(string body) =>
        ModelConfig.Parse("e:\n    model: DNN\n" + string.Concat(body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "    " + l + "\n")), "m.yaml", "e");

    [Fact]
    public void Absent_keys_keep_the_records_defaults_and_present_ones_are_parsed_by_type()
    {
        var d = OptionsBinder.Bind<Probe>(Config(""));
        var defaults = new Probe();
        Assert.Equal(defaults, d with { Units = defaults.Units });
        Assert.Equal([3, 2], d.Units);
        Assert.Null(d.Fsd);

        var o = OptionsBinder.Bind<Probe>(Config("width: 4\nratio: 0.5\ndropout: 0.1\nnorm: False\nunits: [8, 4, 2]\nact: LeakyReLU\npairs: field_all\nfsd: true\nchoice: 1\nunbound: 3"));
        Assert.Equal((4, 0.5, 0.1f, false, Activation.LeakyRelu, BilinearType.FieldAll), (o.Width, o.Ratio, o.Dropout, o.Norm, o.Act, o.Pairs));
        Assert.Equal([8, 4, 2], o.Units);
        Assert.Equal(1, o.Fsd!.Distillation.Choice);
        Assert.Equal(11, o.Unbound);   // a property without [ConfigKey] is not read
    }

    [Theory]
    [InlineData("width: 0", "m.yaml:3 [e]: 'width' must be at least 1, got 0.")]
    [InlineData("width: 2.5", "m.yaml:3 [e]: 'width' must be a whole number, got '2.5'.")]
    [InlineData("ratio: 0", "m.yaml:3 [e]: 'ratio' must be > 0, got 0.")]
    [InlineData("dropout: -0.1", "m.yaml:3 [e]: 'dropout' must be >= 0, got -0.1.")]
    [InlineData("act: swish", "m.yaml:3 [e]: ")]
    [InlineData("pairs: field_some", "m.yaml:3 [e]: ")]
    public void Bad_values_name_the_file_line_and_key(string line, string message)
    {
        var e = Assert.Throws<ConfigException>(() => OptionsBinder.Bind<Probe>(Config(line)));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
        Assert.Contains(line.Split(':')[1].Trim(), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_models_options_bind_their_documented_keys()
    {
        // The zoo's keys as FuxiCTR names them reach the options of each model through the binder.
        var masknet = MaskNetOptions.From(Config("model_type: ParallelMaskNet\nemb_layernorm: False\nparallel_block_dim: 16"));
        Assert.Equal((MaskNetType.ParallelMaskNet, false, 16), (masknet.ModelType, masknet.EmbLayerNorm, masknet.ParallelBlockDim));
        var dcnv2 = Dcnv2Options.From(Config("model_structure: stacked_parallel\nuse_low_rank_mixture: True\nlow_rank: 8"));
        Assert.Equal((Dcnv2Structure.StackedParallel, true, 8, 4), (dcnv2.Structure, dcnv2.UseLowRankMixture, dcnv2.LowRank, dcnv2.NumExperts));
        var edcn = EdcnOptions.From(Config("bridge_type: attention_pooling\ntemperature: 0.5"));
        Assert.Equal((BridgeType.AttentionPooling, 0.5), (edcn.BridgeType, edcn.Temperature));
        var gdcn = DcnOptions.From(Config("crossing_layers: 5"));
        Assert.Equal(5, gdcn.NumCrossLayers);
        var finalMlp = FinalMlpOptions.From(Config("fs1_context: [a, None]\nmlp2_dropout: 0.2"));
        Assert.Equal(["a"], finalMlp.Fs1Context);
        Assert.Equal(0.2f, finalMlp.Mlp2Dropout);
    }
}

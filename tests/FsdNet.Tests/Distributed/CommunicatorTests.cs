using FsdNet.Distributed;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Distributed;

/// <summary>What the communicator offers without MPI: one process's collectives and the log's description of where ranks run.</summary>
public sealed class CommunicatorTests
{
    [Fact]
    public void One_process_gathers_its_own_string()
    {
        Assert.Equal(["fsd-a"], Communicator.Single.AllGather("fsd-a"));
    }

    [Theory]
    [InlineData(new[] { "vm", "vm" }, "1 host (vm: ranks 0-1)")]
    [InlineData(new[] { "fsd-a", "fsd-b" }, "2 hosts (fsd-a: rank 0; fsd-b: rank 1)")]
    [InlineData(new[] { "a", "a", "b", "b", "a" }, "2 hosts (a: ranks 0-1,4; b: ranks 2-3)")]
    [InlineData(new[] { "n1", "n2", "n1", "n2" }, "2 hosts (n1: ranks 0,2; n2: ranks 1,3)")]
    public void Hosts_are_listed_in_order_of_their_first_rank_with_rank_ranges(string[] hostOfRank, string expected)
    {
        Assert.Equal(expected, Communicator.DescribeHosts(hostOfRank));
    }

    [Fact]
    public void Ranks_on_cpus_with_different_instruction_sets_are_warned_about_by_host()
    {
        Assert.Null(TrainingRun.MixedInstructionSets(["a", "b"], ["Avx2", "Avx2"]));
        var warning = TrainingRun.MixedInstructionSets(["a", "a", "b", "c"], ["Avx512", "Avx512", "Avx2", "Avx512"]);
        Assert.NotNull(warning);
        Assert.Contains("(Avx512 on a, c; Avx2 on b)", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Past_the_limit_the_other_hosts_are_counted()
    {
        var hosts = Enumerable.Range(0, 12).Select(i => $"node{i}").ToArray();
        Assert.Equal("12 hosts (node0: rank 0; node1: rank 1; node2: rank 2; 9 more)", Communicator.DescribeHosts(hosts, maxHosts: 3));
    }
}

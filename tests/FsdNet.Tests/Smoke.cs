namespace FsdNet.Tests; public class Smoke { [Xunit.Fact] public void T(){ Xunit.Assert.Equal(2, 1+1);} }

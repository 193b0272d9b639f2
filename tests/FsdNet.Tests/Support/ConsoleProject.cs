namespace FsdNet.Tests.Support;

/// <summary>A console project as a user writes one (net10.0, nullable, warnings as errors) with one reference to FsdNet.</summary>
internal static class ConsoleProject
{
    /// <summary>Writes <paramref name="name"/>.csproj into <paramref name="dir"/>; <paramref name="reference"/> is its FsdNet item (a ProjectReference or PackageReference element).</summary>
    public static Task WriteAsync(string dir, string name, string reference) =>
        File.WriteAllTextAsync(Path.Combine(dir, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                {reference}
              </ItemGroup>
            </Project>
            """);
}

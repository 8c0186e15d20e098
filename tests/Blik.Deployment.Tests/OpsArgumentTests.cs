using Blik.Ops;

namespace Blik.Deployment.Tests;

/// <summary>Usage and configuration errors of the ops command: exit code 2 with a message that says what to fix.</summary>
public sealed class OpsArgumentTests
{
    private static readonly IReadOnlyDictionary<string, string?> NoEnvironment = new Dictionary<string, string?>();

    [Theory]
    [InlineData("requeue-poison")]
    [InlineData("peek-poison")]
    public async Task A_missing_storage_setting_is_a_clear_error_naming_AzureWebJobsStorage_with_exit_code_2(string command)
    {
        var run = await PoisonRequeueTests.RunRawAsync([command], NoEnvironment);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("Storage setting 'AzureWebJobsStorage' is missing", run.Err, StringComparison.Ordinal);
        Assert.Contains("--AzureWebJobsStorage=", run.Err, StringComparison.Ordinal);
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task An_invalid_storage_setting_names_the_setting_without_echoing_it()
    {
        var run = await PoisonRequeueTests.RunRawAsync(["peek-poison", "--AzureWebJobsStorage=AccountName=x;AccountKey=not*base64"], NoEnvironment);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("AzureWebJobsStorage", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("not*base64", run.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("move-everything")]
    [InlineData("requeue-poison", "--max", "0")]
    [InlineData("requeue-poison", "--max", "many")]
    [InlineData("peek-poison", "--max", "33")]
    [InlineData("peek-poison", "--dry-run")]
    [InlineData("requeue-poison", "--force")]
    [InlineData("requeue-poison", "--queue", "checkout-events-poison")]
    public async Task Bad_arguments_print_usage_and_exit_with_code_2(params string[] args)
    {
        var run = await PoisonRequeueTests.RunRawAsync(args, NoEnvironment);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("Usage:", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_arguments_is_a_usage_error()
    {
        var run = await PoisonRequeueTests.RunRawAsync([], NoEnvironment);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("No command given.", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_prints_usage_and_succeeds()
    {
        var run = await PoisonRequeueTests.RunRawAsync(["--help"], NoEnvironment);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("requeue-poison", run.Out, StringComparison.Ordinal);
    }
}

// Shapes follow the public API of Microsoft.Azure.Functions.Worker 2.x and its HTTP, Queue and Timer extensions.
namespace Microsoft.Azure.Functions.Worker
{
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class FunctionAttribute(string name) : Attribute
    {
        public string Name { get; } = name;
    }

    public abstract class BindingAttribute : Attribute
    {
    }

    public abstract class TriggerBindingAttribute : BindingAttribute
    {
    }

    public abstract class OutputBindingAttribute : BindingAttribute
    {
    }

    public enum AuthorizationLevel
    {
        Anonymous = 0,
        User = 1,
        Function = 2,
        System = 3,
        Admin = 4,
    }

    [AttributeUsage(AttributeTargets.Parameter)]
    public sealed class HttpTriggerAttribute : TriggerBindingAttribute
    {
        public HttpTriggerAttribute()
        {
            AuthLevel = AuthorizationLevel.Function;
        }

        public HttpTriggerAttribute(params string[] methods)
            : this()
        {
            Methods = methods;
        }

        public HttpTriggerAttribute(AuthorizationLevel authLevel)
        {
            AuthLevel = authLevel;
        }

        public HttpTriggerAttribute(AuthorizationLevel authLevel, params string[] methods)
        {
            AuthLevel = authLevel;
            Methods = methods;
        }

        public string? Route { get; set; }

        public string[]? Methods { get; private set; }

        public AuthorizationLevel AuthLevel { get; private set; }
    }

    [AttributeUsage(AttributeTargets.Parameter)]
    public sealed class QueueTriggerAttribute(string queueName) : TriggerBindingAttribute
    {
        public string QueueName { get; } = queueName;

        public string? Connection { get; set; }
    }

    [AttributeUsage(AttributeTargets.Parameter | AttributeTargets.Property | AttributeTargets.Method | AttributeTargets.ReturnValue)]
    public sealed class QueueOutputAttribute(string queueName) : OutputBindingAttribute
    {
        public string QueueName { get; } = queueName;

        public string? Connection { get; set; }
    }

    [AttributeUsage(AttributeTargets.Parameter)]
    public sealed class TimerTriggerAttribute(string schedule) : TriggerBindingAttribute
    {
        public string Schedule { get; private set; } = schedule;

        public bool UseMonitor { get; set; } = true;

        public bool RunOnStartup { get; set; }
    }

    public class TimerInfo
    {
        public ScheduleStatus? ScheduleStatus { get; set; }

        public bool IsPastDue { get; set; }
    }

    public class ScheduleStatus
    {
        public DateTime Last { get; set; }

        public DateTime Next { get; set; }

        public DateTime LastUpdated { get; set; }
    }

    public static class FunctionsApplicationInsightsExtensions
    {
        /// <summary>Stand-in of the ApplicationInsights worker package's registration (does nothing here).</summary>
        public static Microsoft.Extensions.DependencyInjection.IServiceCollection ConfigureFunctionsApplicationInsights(
            this Microsoft.Extensions.DependencyInjection.IServiceCollection services) => services;
    }
}

namespace Microsoft.Azure.Functions.Worker.Builder
{
    using System.Diagnostics.Metrics;
    using Microsoft.Extensions.Configuration;
    using Microsoft.Extensions.DependencyInjection;
    using Microsoft.Extensions.Diagnostics.Metrics;
    using Microsoft.Extensions.Hosting;
    using Microsoft.Extensions.Logging;

    public static class FunctionsApplication
    {
        public static FunctionsApplicationBuilder CreateBuilder(string[] args) =>
            throw new NotSupportedException(
                "This build of the Functions app was compiled against the worker stand-in and cannot host functions. " +
                "Build it with -p:UseWorkerStandIn=false (full NuGet access needed), or run src/Blik.LocalRunner.");
    }

    /// <summary>Shape of the worker's builder; never constructed by the stand-in.</summary>
    public sealed class FunctionsApplicationBuilder : IHostApplicationBuilder
    {
        private readonly HostApplicationBuilder _inner = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());

        private FunctionsApplicationBuilder()
        {
        }

        public IDictionary<object, object> Properties => ((IHostApplicationBuilder)_inner).Properties;

        public IConfigurationManager Configuration => _inner.Configuration;

        public IHostEnvironment Environment => _inner.Environment;

        public ILoggingBuilder Logging => _inner.Logging;

        public IMetricsBuilder Metrics => _inner.Metrics;

        public IServiceCollection Services => _inner.Services;

        public IHost Build() => _inner.Build();

        public void ConfigureContainer<TContainerBuilder>(IServiceProviderFactory<TContainerBuilder> factory, Action<TContainerBuilder>? configure = null)
            where TContainerBuilder : notnull =>
            _inner.ConfigureContainer(factory, configure);
    }

    public static class FunctionsApplicationBuilderAspNetCoreExtensions
    {
        public static FunctionsApplicationBuilder ConfigureFunctionsWebApplication(this FunctionsApplicationBuilder builder) => builder;
    }
}

namespace Microsoft.ApplicationInsights.WorkerService
{
    /// <summary>Stand-in of the Worker Service SDK's options (the members the app sets).</summary>
    public class ApplicationInsightsServiceOptions
    {
        public bool EnableAdaptiveSampling { get; set; } = true;
    }
}

namespace Microsoft.Extensions.DependencyInjection
{
    using Microsoft.ApplicationInsights.WorkerService;

    public static class ApplicationInsightsExtensions
    {
        /// <summary>Stand-in of Microsoft.ApplicationInsights.WorkerService's registration (does nothing here).</summary>
        public static IServiceCollection AddApplicationInsightsTelemetryWorkerService(this IServiceCollection services) => services;

        /// <summary>Stand-in of the overload taking options (does nothing here).</summary>
        public static IServiceCollection AddApplicationInsightsTelemetryWorkerService(this IServiceCollection services, ApplicationInsightsServiceOptions options) => services;
    }
}

using System.Net.Http.Headers;
using System.Text;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Blik.Benchmarks.Floor;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Logging.SetMinimumLevel(LogLevel.Information);
var storage = builder.Configuration["AzureWebJobsStorage"] ?? throw new InvalidOperationException("AzureWebJobsStorage is not set");
builder.Services.AddSingleton(new TableServiceClient(storage));
builder.Services.AddSingleton(new QueueServiceClient(storage, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 }));
builder.Services.AddSingleton(_ =>
{
    var gateway = new Uri(builder.Configuration["ConvergeGate:BaseUrl"] ?? throw new InvalidOperationException("ConvergeGate:BaseUrl is not set"));
    var key = builder.Configuration["ConvergeGate:SecretKey"] ?? "";
    var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(10) }) { BaseAddress = gateway };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
    return new FloorGateway(http);
});
builder.Build().Run();

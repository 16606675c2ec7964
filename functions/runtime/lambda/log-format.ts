/**
 * The JSON shape of every log line our functions write: Powertools' default without the fields
 * that repeat on every line of a log group that already names the function (`function_arn`,
 * `function_name`, `function_memory_size`, `sampling_rate`). Each function has its own log group,
 * so they say nothing new, and they were about 290 of a worker line's ~780 bytes: CloudWatch Logs
 * bills ingestion by the byte (issue 14, `npm run bench:cost`). The request id and X-Ray trace id
 * stay: they join a line to its invocation and its trace.
 */
import { LogFormatter, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

export class CompactLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        // Only on the first invocation of an execution environment: rare, and worth seeing.
        cold_start: context?.coldStart === true ? true : undefined,
        function_request_id: context?.awsRequestId,
        xray_trace_id: attributes.xRayTraceId,
      },
    }).addAttributes(additional);
  }
}

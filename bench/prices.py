"""AWS list prices `make bench-cost` uses: us-east-1, on-demand, no free tier,
the first volume tier. Read 2026-11-29 from the pages named beside each.
Change them here only; bench/cost.py reads nothing else."""

DATE = "2026-11-29"
REGION = "us-east-1"

# API Gateway HTTP API: $1.00 per million requests (first 300 million a
# month), each request metered in 512 KB increments.
# https://aws.amazon.com/api-gateway/pricing/
HTTP_API_PER_MILLION = 1.00

# Lambda, Arm (Graviton2): $0.20 per million requests; duration
# $0.0000133334 per GB-second (first 7.5 billion GB-s a month), billed per
# started millisecond. The functions run at 128 MB (template.yaml).
# https://aws.amazon.com/lambda/pricing/
LAMBDA_REQUESTS_PER_MILLION = 0.20
LAMBDA_ARM_GB_SECOND = 0.0000133334
LAMBDA_MEMORY_GB = 128 / 1024

# DynamoDB on-demand (Standard table class): $0.625 per million write
# request units, $0.125 per million read request units. Stream reads by a
# Lambda trigger (GetRecords from an event source mapping) are free.
# https://aws.amazon.com/dynamodb/pricing/on-demand/
DYNAMODB_WRU_PER_MILLION = 0.625
DYNAMODB_RRU_PER_MILLION = 0.125

# SQS standard queue: $0.40 per million requests, each 64 KB chunk of a
# payload a request. https://aws.amazon.com/sqs/pricing/
SQS_REQUESTS_PER_MILLION = 0.40

# SNS standard topic: $0.50 per million publishes (64 KB chunks); delivery
# to an email subscriber $2.00 per 100,000 (to SQS and Lambda: free).
# https://aws.amazon.com/sns/pricing/
SNS_PUBLISHES_PER_MILLION = 0.50
SNS_EMAIL_DELIVERIES_PER_MILLION = 20.00

SOURCES = {
    "API Gateway HTTP API": "https://aws.amazon.com/api-gateway/pricing/",
    "Lambda": "https://aws.amazon.com/lambda/pricing/",
    "DynamoDB on-demand": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    "SQS": "https://aws.amazon.com/sqs/pricing/",
    "SNS": "https://aws.amazon.com/sns/pricing/",
}

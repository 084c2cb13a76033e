// Where the API is. Empty: next to these pages (the standalone node serves both). The cloud
// upload command writes the API Gateway URL here.
window.SIFTGRAM_API_BASE = window.SIFTGRAM_API_BASE || "";

// Original file: proto/drydock/agent/v1/agent.proto


export interface GetHostFactsRequest__Input {
}

export interface GetHostFactsRequest {
}

// Original file: proto/drydock/admin/v1/admin.proto


export interface ListZonesRequest__Input {
}

export interface ListZonesRequest {
}

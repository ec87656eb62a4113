export async function runAdminFuzz(_ctx: any): Promise<any> { throw new Error("todo"); }

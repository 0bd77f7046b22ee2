export async function copyIdMain(argv: string[]): Promise<number> {
  void argv;
  return 1;
}
